package bench

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// heartbeatSenders is the number of goroutines that share the simulated
// workers. Each one owns a slice of them and sends their heartbeats one
// after another, so a sender of ten workers keeps up while a heartbeat
// takes less than 100 ms.
const heartbeatSenders = 1000

// HeartbeatResult describes the heartbeat run, measured on the leader.
type HeartbeatResult struct {
	Workers int
	Window  time.Duration
	// Sent and Errors count heartbeat requests, and P50 and P99 are the
	// latencies of those that succeeded.
	Sent, Errors int
	FirstError   string
	P50, P99     time.Duration
	// HeartbeatEntries counts node_heartbeats entries the leader proposed,
	// and AllEntries every entry applied, during the window.
	HeartbeatEntries, AllEntries float64
	// EntriesByCommand counts the entries the leader proposed during the
	// window, by command type.
	EntriesByCommand map[string]float64
	// LeaderCPU is the leader process's CPU time during the window, and CPU
	// the cores used by the leader, the followers and this process.
	LeaderCPU time.Duration
	CPU       CPUUse
	// LeaderChanges counts takeovers from the start of the registrations to
	// the end of the window.
	LeaderChanges int
	// RegisterTime is how long registering every worker took.
	RegisterTime time.Duration
}

// EntriesPerSecond returns the heartbeat entries per second of the window.
func (r HeartbeatResult) EntriesPerSecond() float64 { return r.HeartbeatEntries / r.Window.Seconds() }

// AllEntriesPerSecond returns every applied entry per second of the window.
func (r HeartbeatResult) AllEntriesPerSecond() float64 { return r.AllEntries / r.Window.Seconds() }

// CoresUsed returns the leader's CPU time divided by the window.
func (r HeartbeatResult) CoresUsed() float64 { return r.LeaderCPU.Seconds() / r.Window.Seconds() }

// SentPerSecond returns the heartbeat rate achieved.
func (r HeartbeatResult) SentPerSecond() float64 { return float64(r.Sent) / r.Window.Seconds() }

func heartbeatNodeID(i int) string { return fmt.Sprintf("hb-%05d", i) }

// RegisterWorkers registers count nodes named by heartbeatNodeID whose
// worker API listens on 127.0.0.1:port, with concurrency parallel
// requests.
func RegisterWorkers(ctx context.Context, client *Client, target *Master, count, concurrency int, port int) error {
	var next atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < count && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				body := fmt.Appendf(nil, `{"nodeId":%q,"hostname":"127.0.0.1","port":%d,"capacity":1}`, heartbeatNodeID(i), port)
				err := withRetries(ctx, func(ctx context.Context) error {
					reqCtx, cancel := context.WithTimeout(ctx, requestTimeout)
					defer cancel()
					_, err := client.Do(reqCtx, http.MethodPost, target.URL()+"/api/v1/nodes/register", body)
					return err
				})
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("register %s: %w", heartbeatNodeID(i), err)
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// MeasureHeartbeats registers p.HeartbeatWorkers nodes, then sends each
// one heartbeat a second for p.HeartbeatWindow, spread over every master,
// and reads the leader's entries and CPU time before and after.
func MeasureHeartbeats(ctx context.Context, c *Cluster, client *Client, p Params, workerPort int) (HeartbeatResult, error) {
	res := HeartbeatResult{Workers: p.HeartbeatWorkers, Window: p.HeartbeatWindow}
	leader, err := c.Leader(ctx)
	if err != nil {
		return res, err
	}
	changesBefore, err := c.LeaderChanges(ctx, leader)
	if err != nil {
		return res, fmt.Errorf("read the failover record: %w", err)
	}
	start := time.Now()
	if err := RegisterWorkers(ctx, client, leader, p.HeartbeatWorkers, 64, workerPort); err != nil {
		return res, err
	}
	res.RegisterTime = time.Since(start)

	before, err := readLeaderCounters(ctx, c, leader)
	if err != nil {
		return res, err
	}
	meter, err := startCPUMeter(leader, c.Followers(leader))
	if err != nil {
		return res, err
	}
	runHeartbeats(ctx, client, c.Masters, p.HeartbeatWorkers, p.HeartbeatWindow, &res)
	if res.CPU, err = meter.stop(); err != nil {
		return res, err
	}
	after, err := readLeaderCounters(ctx, c, leader)
	if err != nil {
		return res, err
	}
	res.Window = after.at.Sub(before.at)
	res.HeartbeatEntries = after.heartbeatEntries - before.heartbeatEntries
	res.AllEntries = after.applied - before.applied
	res.LeaderCPU = after.cpu - before.cpu
	res.EntriesByCommand = map[string]float64{}
	for command, count := range after.proposed {
		if delta := count - before.proposed[command]; delta > 0 {
			res.EntriesByCommand[command] = delta
		}
	}
	changesAfter, err := c.LeaderChanges(ctx, c.Masters[0])
	if err != nil {
		return res, fmt.Errorf("read the failover record: %w", err)
	}
	res.LeaderChanges = newerChanges(changesBefore, changesAfter)
	return res, nil
}

type leaderCounters struct {
	at               time.Time
	cpu              time.Duration
	applied          float64
	heartbeatEntries float64
	proposed         map[string]float64 // by command type
}

func readLeaderCounters(ctx context.Context, c *Cluster, leader *Master) (leaderCounters, error) {
	metrics, err := c.Metrics(ctx, leader)
	if err != nil {
		return leaderCounters{}, fmt.Errorf("read leader metrics: %w", err)
	}
	cpu, err := ProcessCPU(leader.PID())
	if err != nil {
		return leaderCounters{}, err
	}
	proposed := map[string]float64{}
	for series, value := range metrics {
		if command, ok := strings.CutPrefix(series, `podling_raft_apply_duration_seconds_count{command="`); ok {
			proposed[strings.TrimSuffix(command, `"}`)] = value
		}
	}
	return leaderCounters{
		at: time.Now(), cpu: cpu, proposed: proposed,
		applied:          metrics["podling_raft_applied_index"],
		heartbeatEntries: metrics[`podling_raft_apply_duration_seconds_count{command="node_heartbeats"}`],
	}, nil
}

// runHeartbeats sends the heartbeats: sender g owns workers g, g+S, g+2S
// and so on, and spreads its sends evenly over each second. A heartbeat
// still unsent when the window closes is dropped, so Sent shows the rate
// the masters and this process kept up.
func runHeartbeats(ctx context.Context, client *Client, masters []*Master, workers int, window time.Duration, res *HeartbeatResult) {
	senders := min(heartbeatSenders, workers)
	results := make([]clientResult, senders)
	start := time.Now()
	ctx, cancel := context.WithDeadline(ctx, start.Add(window))
	defer cancel()
	rounds := int(window / time.Second)
	var wg sync.WaitGroup
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[g] = sendHeartbeats(ctx, client, masters, g, senders, workers, start, rounds)
		}()
	}
	wg.Wait()
	s := summarize(results, time.Since(start))
	res.Sent, res.Errors, res.FirstError, res.P50, res.P99 = s.Ops, s.Errors, s.FirstError, s.P50, s.P99
}

func sendHeartbeats(ctx context.Context, client *Client, masters []*Master, g, senders, workers int, start time.Time, rounds int) clientResult {
	var owned []int
	for i := g; i < workers; i += senders {
		owned = append(owned, i)
	}
	var r clientResult
	step := time.Second / time.Duration(len(owned))
	offset := time.Second * time.Duration(g) / time.Duration(senders) / time.Duration(len(owned))
	for round := range rounds {
		for j, worker := range owned {
			due := start.Add(time.Duration(round)*time.Second + offset + time.Duration(j)*step)
			if !waitUntil(ctx, due) {
				return r
			}
			target := masters[worker%len(masters)]
			begin := time.Now()
			reqCtx, cancel := context.WithTimeout(ctx, requestTimeout)
			_, err := client.Do(reqCtx, http.MethodPost, target.URL()+"/api/v1/nodes/"+heartbeatNodeID(worker)+"/heartbeat", nil)
			cancel()
			if err != nil && ctx.Err() != nil {
				return r // the window closed during this heartbeat
			}
			if err != nil {
				r.errors++
				if r.firstError == "" {
					r.firstError = err.Error()
				}
				continue
			}
			r.latencies = append(r.latencies, time.Since(begin))
		}
	}
	return r
}

// waitUntil blocks until due, returning false if ctx ends first.
func waitUntil(ctx context.Context, due time.Time) bool {
	wait := time.Until(due)
	if wait <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
