package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/podling/podling/fsm"
	"github.com/podling/podling/internal/cluster"
	"github.com/podling/podling/internal/types"
	"github.com/podling/podling/internal/workerclient"
)

// testTerm is the Raft term the fake reports.
const testTerm = 4

// baseTime is the fake leader clock. It lies far from the wall clock, so a
// time taken from time.Now instead of Config.Now is easy to spot.
var baseTime = time.Date(2025, 1, 19, 12, 34, 56, 0, time.UTC)

const gib = int64(1) << 30

// fakeRaft implements Raft by applying every proposal to a real FSM, the
// way cluster.Node.Propose does, and records the proposals.
type fakeRaft struct {
	mu        sync.Mutex
	state     *fsm.FSM
	index     uint64
	proposals []fsm.Command
}

func (r *fakeRaft) Propose(_ context.Context, cmd fsm.Command) (cluster.Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.proposals = append(r.proposals, cmd)
	return r.applyLocked(cmd)
}

func (r *fakeRaft) Term() uint64 { return testTerm }

func (r *fakeRaft) applyLocked(cmd fsm.Command) (cluster.Result, error) {
	data, err := fsm.Encode(cmd)
	if err != nil {
		return cluster.Result{}, err
	}
	r.index++
	value := r.state.Apply(&raft.Log{Index: r.index, Data: data})
	if fsmErr, ok := value.(error); ok {
		return cluster.Result{Index: r.index}, fmt.Errorf("apply %s: %w", cmd.Type(), fsmErr)
	}
	return cluster.Result{Value: value, Index: r.index}, nil
}

// commit applies cmd as test setup without counting it as a proposal, and
// fails the test if the FSM rejects it.
func (r *fakeRaft) commit(t *testing.T, cmd fsm.Command) cluster.Result {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	res, err := r.applyLocked(cmd)
	if err != nil {
		t.Fatalf("setup command %s: expected no error, got %v", cmd.Type(), err)
	}
	return res
}

// proposed returns the commands proposed so far.
func (r *fakeRaft) proposed() []fsm.Command {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]fsm.Command(nil), r.proposals...)
}

// dispatch is one execute request a worker stub received.
type dispatch struct {
	Kind  string // "tasks" or "pods"
	ID    string
	Pod   types.Pod
	Task  types.Task
	Term  uint64
	Index uint64
}

// workerStub is a worker API that accepts execute requests, or rejects
// them with status while status is set.
type workerStub struct {
	mu         sync.Mutex
	status     int
	dispatches []dispatch
	server     *httptest.Server
}

func newWorkerStub(t *testing.T) *workerStub {
	t.Helper()
	w := &workerStub{}
	w.server = httptest.NewServer(http.HandlerFunc(w.serve))
	t.Cleanup(w.server.Close)
	return w
}

func (w *workerStub) serve(rw http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if r.Method != http.MethodPost || len(parts) != 5 || parts[4] != "execute" {
		http.Error(rw, "unexpected request "+r.Method+" "+r.URL.Path, http.StatusNotFound)
		return
	}
	d := dispatch{Kind: parts[2], ID: parts[3]}
	var err error
	if d.Kind == "pods" {
		var req types.PodExecuteRequest
		err = json.NewDecoder(r.Body).Decode(&req)
		d.Pod, d.Term, d.Index = req.Pod, req.Term, req.Index
	} else {
		var req types.ExecuteRequest
		err = json.NewDecoder(r.Body).Decode(&req)
		d.Task, d.Term, d.Index = req.Task, req.Term, req.Index
	}
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}

	w.mu.Lock()
	w.dispatches = append(w.dispatches, d)
	status := w.status
	w.mu.Unlock()
	if status != 0 {
		http.Error(rw, "image not allowed on this worker", status)
		return
	}
	rw.Header().Set("Content-Type", "application/json")
	_, _ = rw.Write([]byte(`{"started":true}`))
}

// reject makes the stub respond to every later execute request with status.
func (w *workerStub) reject(status int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.status = status
}

func (w *workerStub) received() []dispatch {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]dispatch(nil), w.dispatches...)
}

// hostPort returns the stub's host name and port.
func (w *workerStub) hostPort(t *testing.T) (string, int) {
	t.Helper()
	host, portText, err := net.SplitHostPort(strings.TrimPrefix(w.server.URL, "http://"))
	if err != nil {
		t.Fatalf("split stub address %q: %v", w.server.URL, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		t.Fatalf("stub port %q: %v", portText, err)
	}
	return host, port
}

// harness is a scheduler wired to a real FSM through the fake Raft, with a
// dispatcher that calls the worker stub.
type harness struct {
	raft       *fakeRaft
	state      *fsm.FSM
	worker     *workerStub
	dispatcher *Dispatcher
	scheduler  *Scheduler
	ctx        context.Context
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	state := fsm.New(nil)
	h := &harness{raft: &fakeRaft{state: state}, state: state, worker: newWorkerStub(t)}
	ctx, cancel := context.WithCancel(context.Background())
	h.ctx = ctx
	client := workerclient.New(&http.Client{Timeout: 5 * time.Second})
	h.dispatcher = NewDispatcher(h.raft, client, hclog.NewNullLogger())
	h.dispatcher.now = func() time.Time { return baseTime }
	h.scheduler = New(Config{
		Raft: h.raft, State: state, Dispatcher: h.dispatcher, Logger: hclog.NewNullLogger(),
		Now: func() time.Time { return baseTime },
	})
	// Registered after the stub's Close, so it runs first and no dispatch
	// is still calling the stub when the stub closes.
	t.Cleanup(func() {
		cancel()
		h.dispatcher.Wait()
	})
	return h
}

// addNode registers an online node served by the worker stub.
func (h *harness) addNode(t *testing.T, id string, capacity int, cpu, mem int64) {
	t.Helper()
	host, port := h.worker.hostPort(t)
	h.raft.commit(t, fsm.RegisterNode{Node: types.Node{
		NodeID: id, Hostname: host, Port: port, Capacity: capacity, CPUMillis: cpu, MemoryBytes: mem,
		LastHeartbeat: baseTime, RegisteredAt: baseTime,
	}})
}

// addPod creates a pending pod with one container requesting cpu
// millicores and mem bytes.
func (h *harness) addPod(t *testing.T, id string, cpu, mem int64) {
	t.Helper()
	h.raft.commit(t, fsm.CreatePod{Pod: types.Pod{
		PodID: id, Name: "name-" + id, Namespace: types.DefaultNamespace, RestartPolicy: types.RestartAlways,
		Containers: []types.Container{{
			Name: "app", Image: "registry.local/web:1.0",
			Resources: types.Resources{Requests: types.ResourceList{CPUMillis: cpu, MemoryBytes: mem}},
		}},
		CreatedAt: baseTime,
	}})
}

// addTask creates a pending task.
func (h *harness) addTask(t *testing.T, id string) {
	t.Helper()
	h.raft.commit(t, fsm.CreateTask{Task: types.Task{TaskID: id, Name: "name-" + id, Namespace: types.DefaultNamespace, Image: "busybox", CreatedAt: baseTime}})
}

// pass runs one scheduling pass as Run does and waits until every
// dispatch it started has finished.
func (h *harness) pass() {
	h.scheduler.placePending(h.ctx)
	h.scheduler.placePendingPods(h.ctx)
	h.dispatcher.Wait()
}

// pod returns the stored pod and fails the test if there is none.
func (h *harness) pod(t *testing.T, id string) types.Pod {
	t.Helper()
	p, ok := h.state.Pod(id)
	if !ok {
		t.Fatalf("pod %s: expected it stored, got not found", id)
	}
	return p
}

// placements returns the node of each of the given pods, "" for a pod
// that is not placed.
func (h *harness) placements(t *testing.T, ids ...string) []string {
	t.Helper()
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		out = append(out, h.pod(t, id).NodeID)
	}
	return out
}
