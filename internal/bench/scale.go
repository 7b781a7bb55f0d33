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
	// TaskLoad and PodLoad are how long loading took.
	TaskLoad, PodLoad time.Duration
	// RSS is each master's resident memory after loading, by master ID.
	RSS map[string]int64
	// SnapshotTime is the time to download a snapshot, of SnapshotBytes.
	SnapshotTime  time.Duration
	SnapshotBytes int
	// ProbeID is a task created after the load, and TaskCount every task
	// the snapshot holds.
	ProbeID   string
	TaskCount int
	// RestoreTime runs from the restore request until a follower of the
	// new cluster serves the restored tasks with ?stale=true.
	RestoreTime time.Duration
}

// loadLimit bounds each loading step.
const loadLimit = 15 * time.Minute

// LoadObjects creates count objects through target with clients
// concurrent clients; body returns the body of object i.
func LoadObjects(ctx context.Context, client *Client, target *Master, path string, count, clients int, body func(i int) []byte) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, loadLimit)
	defer cancel()
	start := time.Now()
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < count && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				reqCtx, reqCancel := context.WithTimeout(ctx, requestTimeout*3)
				_, err := client.Do(reqCtx, http.MethodPost, target.URL()+path, body(i))
				reqCancel()
				if err != nil {
					once.Do(func() { firstErr = fmt.Errorf("create %s #%d: %w", path, i, err) })
					cancel()
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start), firstErr
}

func scalePodBody(i int) []byte {
	return fmt.Appendf(nil, `{"name":"scale-%d","labels":{"bench":"scale"},"containers":[{"name":"app","image":"podling/echo:dev","ports":[{"containerPort":8080}]}]}`, i)
}

// MeasureScale loads p.ScaleTasks tasks and p.ScalePods pods into c, which
// has no nodes, so tasks stay pending and pods pending as Unschedulable.
// Then it reads each master's RSS and times a snapshot download.
func MeasureScale(ctx context.Context, c *Cluster, client *Client, p Params) (ScaleResult, []byte, error) {
	res := ScaleResult{Tasks: p.ScaleTasks, Pods: p.ScalePods, RSS: map[string]int64{}}
	leader, err := c.Leader(ctx)
	if err != nil {
		return res, nil, err
	}
	taskBodyOf := func(i int) []byte { return taskBody("s", i%p.ScaleClients, i) }
	if res.TaskLoad, err = LoadObjects(ctx, client, leader, "/api/v1/tasks", p.ScaleTasks, p.ScaleClients, taskBodyOf); err != nil {
		return res, nil, err
	}

	if res.PodLoad, err = LoadObjects(ctx, client, leader, "/api/v1/pods", p.ScalePods, p.ScaleClients, scalePodBody); err != nil {
		return res, nil, err
	}
	if res.ProbeID, err = createTask(ctx, client, leader, taskBody("probe", 0, 0)); err != nil {
		return res, nil, fmt.Errorf("create the probe task: %w", err)
	}
	res.TaskCount = p.ScaleTasks + 1

	for _, m := range c.Masters {
		if err := c.WaitCaughtUp(ctx, m); err != nil {
			return res, nil, err
		}
		if res.RSS[m.ID], err = ProcessRSS(m.PID()); err != nil {
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

// MeasureRestore restores snapshot into the fresh cluster c and times
// until a follower serves probeID with ?stale=true. A restore replaces
// the whole state in one step, so the probe task's presence means every
// task is there. One full stale listing then checks the count.
func MeasureRestore(ctx context.Context, c *Cluster, client *Client, snapshot []byte, probeID string, wantTasks int) (time.Duration, error) {
	leader, err := c.Leader(ctx)
	if err != nil {
		return 0, err
	}
	follower := c.Followers(leader)[0]
	start := time.Now()
	if err := client.JSON(ctx, http.MethodPost, leader.URL()+"/api/v1/cluster/snapshot/restore", snapshot, nil); err != nil {
		return 0, fmt.Errorf("restore snapshot: %w", err)
	}
	err = pollUntil(ctx, 2*time.Minute, 2*time.Millisecond, "wait for the restored task on "+follower.ID, func(ctx context.Context) (bool, error) {
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
	data, err := client.Do(ctx, http.MethodGet, m.URL()+"/api/v1/tasks?stale=true", nil)
	if err != nil {
		return fmt.Errorf("list restored tasks: %w", err)
	}
	var tasks []json.RawMessage
	if err := json.Unmarshal(data, &tasks); err != nil {
		return fmt.Errorf("decode restored tasks: %w", err)
	}
	if len(tasks) != want {
		return fmt.Errorf("%s serves %d tasks after the restore, expected %d", m.ID, len(tasks), want)
	}
	return nil
}
