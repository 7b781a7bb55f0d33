package master

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/podling/podling/internal/types"
)

// stubWorker records the execute calls a master sends it.
type stubWorker struct {
	server  *httptest.Server
	mu      sync.Mutex
	calls   []types.ExecuteRequest
	deletes []string // paths of DELETE calls
}

func newStubWorker(t *testing.T) *stubWorker {
	sw := &stubWorker{}
	sw.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			http.Error(w, `{"error":"no container","code":"not_found"}`, http.StatusNotFound)
			return
		}
		if r.Method == http.MethodDelete {
			sw.mu.Lock()
			sw.deletes = append(sw.deletes, r.URL.Path)
			sw.mu.Unlock()
			_, _ = w.Write([]byte(`{"removed":1}`))
			return
		}
		var req types.ExecuteRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		sw.mu.Lock()
		sw.calls = append(sw.calls, req)
		sw.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		_ = json.NewEncoder(w).Encode(types.ExecuteResponse{TaskID: req.Task.TaskID, Started: true})
	}))
	t.Cleanup(sw.server.Close)
	return sw
}

func (sw *stubWorker) executed() []types.ExecuteRequest {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	return append([]types.ExecuteRequest(nil), sw.calls...)
}

func (sw *stubWorker) register(t *testing.T, masterURL, nodeID string) {
	t.Helper()
	host, port, _ := net.SplitHostPort(sw.server.Listener.Addr().String())
	portNumber, _ := strconv.Atoi(port)
	res := call(t, http.MethodPost, masterURL+"/api/v1/nodes/register",
		types.RegisterNodeRequest{NodeID: nodeID, Hostname: host, Port: portNumber, Capacity: 4})
	if res.status != http.StatusOK {
		t.Fatalf("register node %s: status %d, body %s", nodeID, res.status, res.body)
	}
}

func waitTaskStatus(t *testing.T, url, taskID string, want types.TaskStatus) types.Task {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var task types.Task
	for time.Now().Before(deadline) {
		res := call(t, http.MethodGet, url+"/api/v1/tasks/"+taskID, nil)
		if res.status == http.StatusOK {
			task = decode[types.Task](t, res)
			if task.Status == want {
				return task
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("task %s is %s after 10s, want %s", taskID, task.Status, want)
	return task
}

func TestScheduler_PendingTaskPlacedWhenNodeAppears(t *testing.T) {
	tc := startCluster(t, 3)
	leader := tc.waitLeader()
	task := createTask(t, tc.url(leader), "waits-for-node")

	// No node exists yet, so the task must stay pending.
	if got := waitTaskStatus(t, tc.url(leader), task.TaskID, types.TaskPending); got.NodeID != "" {
		t.Fatalf("task placed on %q before any node registered", got.NodeID)
	}

	worker := newStubWorker(t)
	worker.register(t, tc.url(tc.follower(leader)), "stub-1")
	placed := waitTaskStatus(t, tc.url(leader), task.TaskID, types.TaskScheduled)
	if placed.NodeID != "stub-1" {
		t.Errorf("task placed on %q, want stub-1", placed.NodeID)
	}

	deadline := time.Now().Add(10 * time.Second)
	for len(worker.executed()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	calls := worker.executed()
	if len(calls) == 0 {
		t.Fatal("the worker received no execute call within 10s")
	}
	if calls[0].Task.TaskID != task.TaskID || calls[0].Term == 0 || calls[0].Index == 0 {
		t.Errorf("execute call = task %s term %d index %d, want task %s with a term and an index",
			calls[0].Task.TaskID, calls[0].Term, calls[0].Index, task.TaskID)
	}
}

func TestScheduler_NewLeaderRedispatchesUnconfirmedTasks(t *testing.T) {
	tc := startCluster(t, 3)
	leader := tc.waitLeader()
	worker := newStubWorker(t)
	worker.register(t, tc.url(leader), "stub-1")
	task := createTask(t, tc.url(leader), "dispatched-twice")
	waitTaskStatus(t, tc.url(leader), task.TaskID, types.TaskScheduled)
	firstTerm := tc.masters[leader].Cluster().Term()

	tc.stop(leader)
	tc.waitLeader()

	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, c := range worker.executed() {
			if c.Task.TaskID == task.TaskID && c.Term > firstTerm {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no execute call for task %s from a later term than %d; calls: %+v", task.TaskID, firstTerm, worker.executed())
}

func TestReconciler_LostContainerFailsRunningTask(t *testing.T) {
	tc := startCluster(t, 3)
	leader := tc.waitLeader()
	worker := newStubWorker(t)
	worker.register(t, tc.url(leader), "stub-1")
	task := createTask(t, tc.url(leader), "loses-container")
	waitTaskStatus(t, tc.url(leader), task.TaskID, types.TaskScheduled)
	res := call(t, http.MethodPut, tc.url(leader)+"/api/v1/tasks/"+task.TaskID+"/status",
		types.TaskStatusUpdate{Status: types.TaskRunning, ContainerID: "c1", NodeID: "stub-1"})
	if res.status != http.StatusOK {
		t.Fatalf("report running: status %d, body %s", res.status, res.body)
	}

	// The worker comes back without its containers: the stub answers 404
	// for every task.
	worker.register(t, tc.url(leader), "stub-1")

	failed := waitTaskStatus(t, tc.url(leader), task.TaskID, types.TaskFailed)
	if failed.Reason != "ContainerLost" {
		t.Errorf("task failed with reason %q, want ContainerLost", failed.Reason)
	}
}
