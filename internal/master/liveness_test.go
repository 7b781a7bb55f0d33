package master

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podling/podling/fsm"
	"github.com/podling/podling/internal/cluster"
	"github.com/podling/podling/internal/types"
)

// heartbeaters simulates workers that heartbeat to a fixed list of master
// URLs, each worker to one of them.
type heartbeaters struct {
	client *http.Client
	cancel context.CancelFunc
	wg     sync.WaitGroup
	sent   atomic.Int64
}

func startHeartbeats(nodeIDs []string, urls []string, interval time.Duration) *heartbeaters {
	ctx, cancel := context.WithCancel(context.Background())
	h := &heartbeaters{cancel: cancel}
	// Keeping a connection per worker avoids a new TCP connection for
	// every heartbeat, which would cost more than the heartbeat itself.
	transport := &http.Transport{MaxIdleConnsPerHost: len(nodeIDs), MaxIdleConns: len(nodeIDs)}
	client := &http.Client{Timeout: 2 * time.Second, Transport: transport}
	h.client = client
	for i, id := range nodeIDs {
		url := urls[i%len(urls)] + "/api/v1/nodes/" + id + "/heartbeat"
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			ticker := time.NewTicker(interval)
			defer ticker.Stop()
			for {
				if resp, err := client.Post(url, "application/json", nil); err == nil {
					resp.Body.Close()
					h.sent.Add(1)
				}
				select {
				case <-ctx.Done():
					return
				case <-ticker.C:
				}
			}
		}()
	}
	return h
}

func (h *heartbeaters) stop() {
	h.cancel()
	h.wg.Wait()
	h.client.CloseIdleConnections()
}

func registerNodes(t *testing.T, url string, count int) []string {
	t.Helper()
	var ids []string
	for i := range count {
		id := fmt.Sprintf("node-%04d", i)
		res := call(t, http.MethodPost, url+"/api/v1/nodes/register",
			types.RegisterNodeRequest{NodeID: id, Hostname: "127.0.0.1", Port: 1, Capacity: 1})
		if res.status != http.StatusOK {
			t.Fatalf("register %s: status %d, body %s", id, res.status, res.body)
		}
		ids = append(ids, id)
	}
	return ids
}

// watchOffline polls a master's state until stop is closed and records
// every node it saw offline.
func watchOffline(m *Master, stop <-chan struct{}) <-chan map[string]bool {
	out := make(chan map[string]bool, 1)
	go func() {
		seen := map[string]bool{}
		for {
			for _, n := range m.FSM().Nodes() {
				if n.Status == types.NodeOffline {
					seen[n.NodeID] = true
				}
			}
			select {
			case <-stop:
				out <- seen
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return out
}

// runTaskOn creates a task and reports it running as the worker of nodeID
// would, once the scheduler has placed it there. Nodes registered with
// registerNodes have no free slot left after their own, so only a node with
// room takes it.
func runTaskOn(t *testing.T, url, nodeID string) types.Task {
	t.Helper()
	task := createTask(t, url, "keeps-running")
	placed := waitTaskStatus(t, url, task.TaskID, types.TaskScheduled)
	if placed.NodeID != nodeID {
		t.Fatalf("task placed on %s, want %s", placed.NodeID, nodeID)
	}
	res := call(t, http.MethodPut, url+"/api/v1/tasks/"+task.TaskID+"/status",
		types.TaskStatusUpdate{Status: types.TaskRunning, ContainerID: "c1", NodeID: nodeID})
	if res.status != http.StatusOK {
		t.Fatalf("report running: status %d, body %s", res.status, res.body)
	}
	return decode[types.Task](t, res)
}

func withTTL(ttl time.Duration) func(*Config) {
	return func(c *Config) { c.HeartbeatTTL = ttl }
}

func TestLiveness_LeaderCrashKeepsNodesOnline(t *testing.T) {
	const ttl = 1500 * time.Millisecond
	tc := startCluster(t, 3, withTTL(ttl))
	leader := tc.waitLeader()
	nodes := registerNodes(t, tc.url(leader), 3)
	worker := newStubWorker(t)
	worker.register(t, tc.url(leader), "stub-1")
	nodes = append(nodes, "stub-1")
	var followerURLs []string
	for i := range tc.masters {
		if i != leader {
			followerURLs = append(followerURLs, tc.url(i))
		}
	}
	beats := startHeartbeats(nodes, followerURLs, 300*time.Millisecond)
	defer beats.stop()
	task := runTaskOn(t, tc.url(leader), "stub-1")

	tc.crash(leader)
	next := tc.waitLeader()
	stop := make(chan struct{})
	offline := watchOffline(tc.masters[next], stop)
	time.Sleep(3 * ttl) // the window in which a forgetful leader would expire nodes
	close(stop)

	if seen := <-offline; len(seen) > 0 {
		t.Errorf("nodes went offline after the leader crashed although they kept heartbeating: %v", seen)
	}
	if got, _ := tc.masters[next].FSM().Task(task.TaskID); got.Status != types.TaskRunning || !got.UpdatedAt.Equal(task.UpdatedAt) {
		t.Errorf("task changed to %s at %s after the leader change, want it untouched", got.Status, got.UpdatedAt)
	}
}

func TestLiveness_LeaderlessGapLongerThanTTL(t *testing.T) {
	const ttl = 1500 * time.Millisecond
	tc := startCluster(t, 3, withTTL(ttl))
	leader := tc.waitLeader()
	nodes := registerNodes(t, tc.url(leader), 3)
	urls := []string{tc.url(0), tc.url(1), tc.url(2)}
	beats := startHeartbeats(nodes, urls, 300*time.Millisecond)
	defer beats.stop()

	// Crash two masters, leader included: no quorum, so no leader, for
	// twice the TTL.
	survivor := tc.follower(leader)
	for i := range tc.masters {
		if i != survivor {
			tc.crash(i)
		}
	}
	time.Sleep(2 * ttl)
	for i := range tc.masters {
		if i != survivor {
			tc.start(i)
		}
	}
	next := tc.waitLeader()
	takeover := time.Now()

	stop := make(chan struct{})
	offline := watchOffline(tc.masters[next], stop)
	time.Sleep(ttl / 2) // within the grace a new leader owes every node
	close(stop)
	if seen := <-offline; len(seen) > 0 {
		t.Errorf("nodes went offline %s after the new leader took over, within its grace of one TTL: %v", time.Since(takeover), seen)
	}
}

func TestLiveness_HeartbeatEntriesStayConstant(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 20 s")
	}
	const workers, window = 1000, 20 * time.Second
	// Production timeouts: on a loaded machine the test timeouts would
	// let elections interrupt the measurement.
	tc := startCluster(t, 3, withTTL(10*time.Second), func(c *Config) {
		c.HeartbeatBatch, c.Timing = time.Second, cluster.Timing{}
	})
	leader := tc.waitLeader()
	nodes := registerNodes(t, tc.url(leader), workers)
	var urls []string
	for i := range tc.masters {
		urls = append(urls, tc.url(i))
	}
	state := tc.masters[leader].FSM()

	beats := startHeartbeats(nodes, urls, time.Second)
	startIndex, startBatches := state.AppliedIndex(), state.AppliedCount(fsm.CommandNodeHeartbeats)
	time.Sleep(window)
	entries := state.AppliedIndex() - startIndex
	batches := state.AppliedCount(fsm.CommandNodeHeartbeats) - startBatches
	beats.stop()

	// One batch per second for all workers, whatever their number, plus
	// one for a tick that falls on the window's edge.
	const maxBatches = uint64(window/time.Second) + 1
	t.Logf("%d heartbeats from %d workers in %s caused %d heartbeat batches among %d log entries",
		beats.sent.Load(), workers, window, batches, entries)
	if batches > maxBatches {
		t.Errorf("%d heartbeat batches in %s from %d workers, want at most %d", batches, window, workers, maxBatches)
	}
	// On a loaded machine with the race detector, a fifth of the offered
	// heartbeats (50 a second) still shows whether entries follow them.
	if beats.sent.Load() < int64(workers)*int64(window/time.Second)/5 {
		t.Errorf("only %d heartbeats were delivered, too few for the figure to mean anything", beats.sent.Load())
	}
	for _, n := range state.Nodes() {
		if n.Status != types.NodeOnline {
			t.Fatalf("node %s is %s while heartbeating", n.NodeID, n.Status)
		}
	}
}
