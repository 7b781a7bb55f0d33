package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// ScaleResult describes the cluster loaded with many tasks and pods.
type ScaleResult struct {
	Tasks, Pods int
	// TaskLoad and PodLoad describe the creates within the budget.
	TaskLoad, PodLoad LoadProgress
	// ToppedUp is set when the creates did not finish within the budget and
	// a snapshot with the full counts was restored instead.
	ToppedUp bool
	// RSS is each master's resident memory after loading, and HeapInUse its
	// Go heap in use (go_memstats_heap_inuse_bytes), by master ID.
	RSS       map[string]int64
	HeapInUse map[string]int64
	// SnapshotTime is the time to download a snapshot, of SnapshotBytes.
	SnapshotTime  time.Duration
	SnapshotBytes int
	// ProbeID is a task of the snapshot, and TaskCount every task it holds.
	ProbeID   string
	TaskCount int
	// RestoreTime runs from the restore request until a follower of the
	// new cluster serves the restored tasks with ?stale=true.
	RestoreTime time.Duration
}

// LoadProgress describes one loading step.
type LoadProgress struct {
	Loaded int
	Took   time.Duration
	// FirstRate and LastRate are the creates per second in the first and
	// the last full progressInterval of the step. Windowed is false, and
	// they are zero, when the step was too short to have both.
	FirstRate, LastRate float64
	Windowed            bool
}

// Rate returns the creates per second over the whole step.
func (l LoadProgress) Rate() float64 { return ratio(float64(l.Loaded), l.Took.Seconds()) }

const progressInterval = 10 * time.Second

// LoadObjects creates up to count objects through target with clients
// concurrent clients, for at most budget; body returns the body of object
// i. Running out of budget is not an error, and Loaded then counts the
// objects created. A failed create is retried, so a create that timed out after
// it committed may leave a duplicate.
func LoadObjects(ctx context.Context, client *Client, target *Master, path string, count, clients int, budget time.Duration, body func(i int) []byte) (LoadProgress, error) {
	loadCtx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	start := time.Now()
	var next, loaded atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < count && loadCtx.Err() == nil; i = int(next.Add(1) - 1) {
				err := withRetries(loadCtx, func(ctx context.Context) error {
					reqCtx, reqCancel := context.WithTimeout(ctx, requestTimeout*3)
					defer reqCancel()
					_, err := client.Do(reqCtx, http.MethodPost, target.URL()+path, body(i))
					return err
				})
				switch {
				case err == nil:
					loaded.Add(1)
				case loadCtx.Err() == nil:
					once.Do(func() { firstErr = fmt.Errorf("create %s #%d: %w", path, i, err) })
					cancel()
				}
			}
		}()
	}
	samples := sampleProgress(loadCtx, &loaded)
	wg.Wait()
	cancel()
	progress := LoadProgress{Loaded: int(loaded.Load()), Took: time.Since(start)}
	progress.FirstRate, progress.LastRate, progress.Windowed = rates(<-samples)
	if err := ctx.Err(); err != nil {
		return progress, err
	}
	return progress, firstErr
}

// sampleProgress records the loaded count every progressInterval until ctx
// ends, then sends the samples.
func sampleProgress(ctx context.Context, loaded *atomic.Int64) <-chan []int64 {
	out := make(chan []int64, 1)
	go func() {
		ticker := time.NewTicker(progressInterval)
		defer ticker.Stop()
		samples := []int64{0}
		for {
			select {
			case <-ctx.Done():
				out <- samples
				return
			case <-ticker.C:
				samples = append(samples, loaded.Load())
			}
		}
	}()
	return out
}

func rates(samples []int64) (first, last float64, ok bool) {
	if len(samples) < 3 {
		return 0, 0, false
	}
	perSecond := func(i int) float64 {
		return float64(samples[i]-samples[i-1]) / progressInterval.Seconds()
	}
	return perSecond(1), perSecond(len(samples) - 1), true
}

func scalePodBody(i int) []byte {
	return fmt.Appendf(nil, `{"name":"scale-%d","labels":{"bench":"scale"},"containers":[{"name":"app","image":"podling/echo:dev","ports":[{"containerPort":8080}]}]}`, i)
}

// MeasureScale loads p.ScaleTasks tasks and p.ScalePods pods into c, which
// has no nodes, so tasks stay pending and pods pending as Unschedulable.
// Creates get p.ScaleBudget, four fifths of it for tasks. When they fall
// short, a snapshot with the full counts replaces the state. Then it reads
// each master's RSS and times a snapshot download.
func MeasureScale(ctx context.Context, c *Cluster, client *Client, p Params, logf func(string, ...any)) (ScaleResult, []byte, error) {
	res := ScaleResult{Tasks: p.ScaleTasks, Pods: p.ScalePods, RSS: map[string]int64{}, HeapInUse: map[string]int64{}}
	leader, err := c.Leader(ctx)
	if err != nil {
		return res, nil, err
	}
	if err := loadByCreates(ctx, client, leader, p, &res); err != nil {
		return res, nil, err
	}
	logf("scale: created %d tasks in %s and %d pods in %s", res.TaskLoad.Loaded, ms(res.TaskLoad.Took), res.PodLoad.Loaded, ms(res.PodLoad.Took))

	if res.TaskLoad.Loaded < p.ScaleTasks || res.PodLoad.Loaded < p.ScalePods {
		res.ToppedUp = true
		if err := restoreGenerated(ctx, c, client, leader, p, &res); err != nil {
			return res, nil, err
		}
	}
	if err := measureMemory(ctx, c, &res); err != nil {
		return res, nil, err
	}
	// The probe comes after the memory figures, because counting the tasks
	// lists all of them, which leaves the leader tens of megabytes of
	// garbage that the figures should not include.
	if !res.ToppedUp {
		if err := probeCreated(ctx, client, leader, &res); err != nil {
			return res, nil, err
		}
	}
	start := time.Now()
	snapshot, err := client.Do(ctx, http.MethodGet, leader.URL()+"/api/v1/cluster/snapshot", nil)
	if err != nil {
		return res, nil, fmt.Errorf("download snapshot: %w", err)
	}
	res.SnapshotTime, res.SnapshotBytes = time.Since(start), len(snapshot)
	return res, snapshot, nil
}

// measureMemory reads each master's RSS and Go heap once it has applied
// everything.
func measureMemory(ctx context.Context, c *Cluster, res *ScaleResult) error {
	for _, m := range c.Masters {
		if err := c.WaitCaughtUp(ctx, m); err != nil {
			return err
		}
		rss, err := ProcessRSS(m.PID())
		if err != nil {
			return err
		}
		metrics, err := c.Metrics(ctx, m)
		if err != nil {
			return fmt.Errorf("read metrics of %s: %w", m.ID, err)
		}
		res.RSS[m.ID], res.HeapInUse[m.ID] = rss, int64(metrics["go_memstats_heap_inuse_bytes"])
	}
	return nil
}

// probeCreated creates the probe task and counts the tasks the cluster
// holds, duplicates from retried creates included.
func probeCreated(ctx context.Context, client *Client, leader *Master, res *ScaleResult) error {
	var err error
	if res.ProbeID, err = createTask(ctx, client, leader, taskBody("probe", 0, 0)); err != nil {
		return fmt.Errorf("create the probe task: %w", err)
	}
	res.TaskCount, err = countTasks(ctx, client, leader)
	return err
}

func loadByCreates(ctx context.Context, client *Client, leader *Master, p Params, res *ScaleResult) error {
	taskBudget := p.ScaleBudget * 4 / 5
	taskBodyOf := func(i int) []byte { return taskBody("s", i%p.ScaleClients, i) }
	var err error
	res.TaskLoad, err = LoadObjects(ctx, client, leader, "/api/v1/tasks", p.ScaleTasks, p.ScaleClients, taskBudget, taskBodyOf)
	if err != nil {
		return err
	}
	podBudget := max(p.ScaleBudget-res.TaskLoad.Took, p.ScaleBudget/5)
	res.PodLoad, err = LoadObjects(ctx, client, leader, "/api/v1/pods", p.ScalePods, p.ScaleClients, podBudget, scalePodBody)
	return err
}

// restoreGenerated restores a snapshot with the full counts, built by the
// fsm package, into c and waits until a follower serves it.
func restoreGenerated(ctx context.Context, c *Cluster, client *Client, leader *Master, p Params, res *ScaleResult) error {
	snapshot, probeID, err := GenerateSnapshot(c.Masters, p.ScaleTasks, p.ScalePods)
	if err != nil {
		return err
	}
	res.ProbeID, res.TaskCount = probeID, p.ScaleTasks
	_, err = restoreAndWait(ctx, c, client, leader, snapshot, probeID, p.ScaleTasks)
	return err
}

// MeasureRestore restores snapshot into the fresh cluster c and times
// until a follower serves probeID with ?stale=true. A restore replaces
// the whole state in one step, so the probe task's presence means every
// task is there. One full stale listing then checks the count.
func MeasureRestore(ctx context.Context, c *Cluster, client *Client, snapshot []byte, probeID string, wantTasks int) (time.Duration, error) {
	leader, err := c.Leader(ctx)
	if err != nil {
		return 0, err
	}
	return restoreAndWait(ctx, c, client, leader, snapshot, probeID, wantTasks)
}

func restoreAndWait(ctx context.Context, c *Cluster, client *Client, leader *Master, snapshot []byte, probeID string, wantTasks int) (time.Duration, error) {
	follower := c.Followers(leader)[0]
	start := time.Now()
	if err := client.JSON(ctx, http.MethodPost, leader.URL()+"/api/v1/cluster/snapshot/restore", snapshot, nil); err != nil {
		return 0, fmt.Errorf("restore snapshot: %w", err)
	}
	err := pollUntil(ctx, 2*time.Minute, 2*time.Millisecond, "wait for the restored task on "+follower.ID, func(ctx context.Context) (bool, error) {
		_, err := client.Do(ctx, http.MethodGet, follower.URL()+"/api/v1/tasks/"+probeID+"?stale=true", nil)
		return err == nil, err
	})
	if err != nil {
		return 0, err
	}
	took := time.Since(start)
	return took, checkTaskCount(ctx, client, follower, wantTasks)
}

func checkTaskCount(ctx context.Context, client *Client, m *Master, want int) error {
	got, err := countTasks(ctx, client, m)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("%s serves %d tasks after the restore, expected %d", m.ID, got, want)
	}
	return nil
}

// countTasks lists every task m holds, with ?stale=true.
func countTasks(ctx context.Context, client *Client, m *Master) (int, error) {
	data, err := client.Do(ctx, http.MethodGet, m.URL()+"/api/v1/tasks?stale=true", nil)
	if err != nil {
		return 0, fmt.Errorf("list tasks on %s: %w", m.ID, err)
	}
	var tasks []json.RawMessage
	if err := json.Unmarshal(data, &tasks); err != nil {
		return 0, fmt.Errorf("decode tasks of %s: %w", m.ID, err)
	}
	return len(tasks), nil
}
