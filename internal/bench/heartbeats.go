package bench

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// heartbeatSenders is the number of goroutines that share the simulated
// workers; each one owns a slice of them.
const heartbeatSenders = 250

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
	// LeaderCPU is the leader process's CPU time during the window.
	LeaderCPU time.Duration
	// LeaderChanged is set when another master led at the end.
	LeaderChanged bool
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
				reqCtx, cancel := context.WithTimeout(ctx, requestTimeout)
				_, err := client.Do(reqCtx, http.MethodPost, target.URL()+"/api/v1/nodes/register", body)
				cancel()
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
	start := time.Now()
	if err := RegisterWorkers(ctx, client, leader, p.HeartbeatWorkers, 64, workerPort); err != nil {
		return res, err
	}
	res.RegisterTime = time.Since(start)

	before, err := readLeaderCounters(ctx, c, leader)
	if err != nil {
		return res, err
	}
	runHeartbeats(ctx, client, c.Masters, p.HeartbeatWorkers, p.HeartbeatWindow, &res)
	after, err := readLeaderCounters(ctx, c, leader)
	if err != nil {
		return res, err
	}
	res.Window = after.at.Sub(before.at)
	res.HeartbeatEntries = after.heartbeatEntries - before.heartbeatEntries
	res.AllEntries = after.applied - before.applied
	res.LeaderCPU = after.cpu - before.cpu
	if now, err := c.Leader(ctx); err != nil || now != leader {
		res.LeaderChanged = true
	}
	return res, nil
}

type leaderCounters struct {
	at               time.Time
	cpu              time.Duration
	applied          float64
	heartbeatEntries float64
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
	return leaderCounters{
		at: time.Now(), cpu: cpu,
		applied:          metrics["podling_raft_applied_index"],
		heartbeatEntries: metrics[`podling_raft_apply_duration_seconds_count{command="node_heartbeats"}`],
	}, nil
}

// runHeartbeats sends the heartbeats: sender g owns workers g, g+S, g+2S
// and so on, and spreads its sends evenly over each second.
func runHeartbeats(ctx context.Context, client *Client, masters []*Master, workers int, window time.Duration, res *HeartbeatResult) {
	senders := min(heartbeatSenders, workers)
	results := make([]clientResult, senders)
	start := time.Now()
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
