package fsm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/podling/podling/internal/types"
)

// baseTime lies far from the wall clock, so a time that Apply read from the
// clock instead of the command cannot pass for an expected value.
var baseTime = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)

// allTaskStatuses lists the task states in lifecycle order.
var allTaskStatuses = []types.TaskStatus{
	types.TaskPending,
	types.TaskScheduled,
	types.TaskRunning,
	types.TaskCompleted,
	types.TaskFailed,
}

// at returns baseTime plus the given number of seconds.
func at(seconds int) time.Time {
	return baseTime.Add(time.Duration(seconds) * time.Second)
}

func timePtr(t time.Time) *time.Time { return &t }

func intPtr(i int) *int { return &i }

func newTestTask(id string, created time.Time) types.Task {
	return types.Task{
		TaskID:    id,
		Name:      "name-" + id,
		Image:     "registry.local/echo:1.0",
		CreatedAt: created,
	}
}

func newTestNode(id string) types.Node {
	return types.Node{
		NodeID:        id,
		Hostname:      id + ".example.internal",
		Port:          8081,
		Capacity:      4,
		LastHeartbeat: at(0),
		RegisteredAt:  at(0),
	}
}

// encode returns the log entry data of cmd and fails the test if Encode does.
func encode(t testing.TB, cmd Command) []byte {
	t.Helper()
	data, err := Encode(cmd)
	if err != nil {
		t.Fatalf("Encode(%s): expected no error, got %v", cmd.Type(), err)
	}
	return data
}

// applyData applies raw entry data at the index after the last applied one.
func applyData(f *FSM, data []byte) any {
	return f.Apply(&raft.Log{Index: f.AppliedIndex() + 1, Data: data})
}

// apply encodes cmd, applies it at the next index and returns Apply's result.
func apply(t testing.TB, f *FSM, cmd Command) any {
	t.Helper()
	return applyData(f, encode(t, cmd))
}

// mustApply applies cmd and fails the test if Apply rejects it.
func mustApply(t testing.TB, f *FSM, cmd Command) any {
	t.Helper()
	res := apply(t, f, cmd)
	if err, ok := res.(error); ok {
		t.Fatalf("apply %s %s: expected success, got error %v", cmd.Type(), show(cmd), err)
	}
	return res
}

// show renders a value for a failure message. JSON prints the targets of
// pointer fields such as ExitCode, where %+v would print addresses.
func show(v any) string {
	if err, ok := v.(error); ok {
		return "error " + strconv.Quote(err.Error())
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%+v", v)
	}
	return string(data)
}

// resultError returns the error in an Apply result, or nil.
func resultError(res any) error {
	err, _ := res.(error)
	return err
}

func registerNode(t testing.TB, f *FSM, id string) {
	t.Helper()
	mustApply(t, f, RegisterNode{Node: newTestNode(id)})
}

func setNodeStatus(t testing.TB, f *FSM, id string, status types.NodeStatus, when time.Time) {
	t.Helper()
	mustApply(t, f, SetNodeStatus{NodeID: id, Status: status, Time: when})
}

func updateTask(t testing.TB, f *FSM, id string, update types.TaskStatusUpdate, when time.Time) types.Task {
	t.Helper()
	res := mustApply(t, f, UpdateTaskStatus{TaskID: id, Update: update, Time: when})
	task, ok := res.(types.Task)
	if !ok {
		t.Fatalf("update of task %s: expected a types.Task result, got %T", id, res)
	}
	return task
}

// addTask creates a task and moves it along the lifecycle to status. A task
// that gets past pending is placed on node, which must be online. A failed
// task fails while running.
func addTask(t testing.TB, f *FSM, id string, created time.Time, status types.TaskStatus, node string) types.Task {
	t.Helper()
	mustApply(t, f, CreateTask{Task: newTestTask(id, created)})
	var path []types.TaskStatus
	switch status {
	case types.TaskPending:
	case types.TaskScheduled:
		path = []types.TaskStatus{types.TaskScheduled}
	case types.TaskRunning:
		path = []types.TaskStatus{types.TaskScheduled, types.TaskRunning}
	case types.TaskCompleted, types.TaskFailed:
		path = []types.TaskStatus{types.TaskScheduled, types.TaskRunning, status}
	default:
		t.Fatalf("addTask: no path to status %q", status)
	}
	for i, next := range path {
		update := types.TaskStatusUpdate{Status: next, NodeID: node}
		if next == types.TaskRunning {
			update.ContainerID = "ctr-" + id
		}
		if next == types.TaskCompleted {
			update.ExitCode = intPtr(0)
		}
		if next == types.TaskFailed {
			update.ExitCode = intPtr(1)
			update.Reason = types.ReasonNonZeroExit
		}
		updateTask(t, f, id, update, created.Add(time.Duration(i+1)*time.Second))
	}
	got, _ := f.Task(id)
	if got.Status != status {
		t.Fatalf("addTask %s: expected status %s, got %s", id, status, got.Status)
	}
	return got
}

// populated returns an FSM with nodes, tasks in every status and a master.
func populated(t *testing.T) *FSM {
	t.Helper()
	f := New(nil)
	registerNode(t, f, "n1")
	registerNode(t, f, "n2")
	registerNode(t, f, "n3-offline")
	setNodeStatus(t, f, "n3-offline", types.NodeOffline, at(5))
	addTask(t, f, "t1", at(10), types.TaskPending, "")
	addTask(t, f, "t2", at(20), types.TaskScheduled, "n1")
	addTask(t, f, "t3", at(30), types.TaskRunning, "n1")
	addTask(t, f, "t4", at(40), types.TaskRunning, "n2")
	addTask(t, f, "t5", at(50), types.TaskCompleted, "n2")
	addTask(t, f, "t6", at(60), types.TaskFailed, "n2")
	mustApply(t, f, SetMasterAddress{ServerID: "m1", APIAddress: "http://m1:8070"})
	mustApply(t, f, NodeHeartbeats{LastSeen: map[string]time.Time{"n1": at(70), "n2": at(71)}})
	return f
}

// fullState is everything an FSM exposes, through its read views and its
// internal indexes, in a form that reflect.DeepEqual can compare.
type fullState struct {
	Tasks        []types.Task
	Nodes        []types.Node
	Masters      map[string]string
	AppliedIndex uint64
	TaskCount    map[types.TaskStatus]int
	ByStatus     map[types.TaskStatus][]types.Task
	ByNode       map[string][]types.Task

	TaskOrder     []string
	TasksByStatus map[types.TaskStatus]map[string]struct{}
	ActiveByNode  map[string]map[string]struct{}

	Pods      []types.Pod
	Services  []types.Service
	Endpoints map[string]types.Endpoints // by service ID

	// PodOrder and ServiceOrder list the live IDs only, because the holes
	// a removal leaves depend on when the list was last compacted.
	PodOrder     []string
	PodsByNode   map[string]map[string]struct{}
	PodNames     map[string]string
	ServiceOrder []string
	ServiceNames map[string]string
}

// captureState copies the state of f, so that later applies do not change
// the copy.
func captureState(f *FSM) fullState {
	s := fullState{
		Tasks:        f.Tasks(TaskFilter{}),
		Nodes:        f.Nodes(),
		AppliedIndex: f.AppliedIndex(),
		TaskCount:    f.TaskCount(),
		ByStatus:     make(map[types.TaskStatus][]types.Task),
		ByNode:       make(map[string][]types.Task),
	}
	for _, status := range allTaskStatuses {
		s.ByStatus[status] = f.Tasks(TaskFilter{Status: status})
	}
	for _, n := range s.Nodes {
		s.ByNode[n.NodeID] = f.Tasks(TaskFilter{NodeID: n.NodeID})
	}
	s.Pods = f.Pods(PodFilter{})
	s.Services = f.Services(ServiceFilter{})
	s.Endpoints = make(map[string]types.Endpoints)
	for _, svc := range s.Services {
		s.Endpoints[svc.ServiceID], _ = f.Endpoints(svc.ServiceID)
	}

	f.mu.RLock()
	defer f.mu.RUnlock()
	s.Masters = maps.Clone(f.masters)
	s.TaskOrder = append([]string(nil), f.taskOrder...)
	s.TasksByStatus = make(map[types.TaskStatus]map[string]struct{})
	for status, set := range f.tasksByStatus {
		s.TasksByStatus[status] = maps.Clone(set)
	}
	s.ActiveByNode = make(map[string]map[string]struct{})
	for node, set := range f.activeByNode {
		s.ActiveByNode[node] = maps.Clone(set)
	}
	f.podOrder.each(func(id string) { s.PodOrder = append(s.PodOrder, id) })
	s.PodsByNode = make(map[string]map[string]struct{})
	for node, set := range f.podsByNode {
		s.PodsByNode[node] = maps.Clone(set)
	}
	s.PodNames = maps.Clone(f.podNames)
	f.serviceOrder.each(func(id string) { s.ServiceOrder = append(s.ServiceOrder, id) })
	s.ServiceNames = maps.Clone(f.serviceNames)
	return s
}

// stateDiff names each field of fullState whose values differ and shows
// both values, so a failure points at the part of the state that changed.
func stateDiff(expected, got fullState) []string {
	var diffs []string
	ev, gv := reflect.ValueOf(expected), reflect.ValueOf(got)
	for i := range ev.NumField() {
		e, g := ev.Field(i).Interface(), gv.Field(i).Interface()
		if !reflect.DeepEqual(e, g) {
			diffs = append(diffs, fmt.Sprintf("%s:\n  expected %s\n  got      %s", ev.Type().Field(i).Name, show(e), show(g)))
		}
	}
	return diffs
}

// checkSameState fails the test when the two states differ.
func checkSameState(t testing.TB, expected, got fullState) {
	t.Helper()
	for _, d := range stateDiff(expected, got) {
		t.Errorf("state differs in %s", d)
	}
}

// checkUnchangedExceptIndex fails the test when anything but AppliedIndex
// differs between the two states.
func checkUnchangedExceptIndex(t testing.TB, before, after fullState) {
	t.Helper()
	before.AppliedIndex = after.AppliedIndex
	checkSameState(t, before, after)
}

// memSink is a raft.SnapshotSink that keeps the snapshot in memory.
type memSink struct {
	bytes.Buffer
	closed    bool
	cancelled bool
}

func (s *memSink) ID() string { return "mem" }

func (s *memSink) Close() error {
	if s.closed {
		return errors.New("sink closed twice")
	}
	s.closed = true
	return nil
}

func (s *memSink) Cancel() error {
	s.cancelled = true
	return nil
}

// persistSnapshot takes a snapshot of f and returns the bytes that Persist
// writes.
func persistSnapshot(t testing.TB, f *FSM) []byte {
	t.Helper()
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot: expected no error, got %v", err)
	}
	return persist(t, snap)
}

func persist(t testing.TB, snap raft.FSMSnapshot) []byte {
	t.Helper()
	defer snap.Release()
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatalf("Persist: expected no error, got %v", err)
	}
	if !sink.closed || sink.cancelled {
		t.Fatalf("Persist: expected the sink closed and not cancelled, got closed=%v cancelled=%v", sink.closed, sink.cancelled)
	}
	return sink.Bytes()
}

// trackedReader is an io.ReadCloser that records whether it was closed.
type trackedReader struct {
	*bytes.Reader
	closed bool
}

func (r *trackedReader) Close() error {
	r.closed = true
	return nil
}

func newTrackedReader(data []byte) *trackedReader {
	return &trackedReader{Reader: bytes.NewReader(data)}
}
