package fsm

import (
	"errors"
	"fmt"
	"math/rand"
	"reflect"
	"testing"
	"time"

	"github.com/podling/podling/internal/types"
)

// lifecycle is the path a task takes when every step succeeds.
var lifecycle = []types.TaskStatus{
	types.TaskPending,
	types.TaskScheduled,
	types.TaskRunning,
	types.TaskCompleted,
}

// logGenerator builds a seeded random log that mixes every command type
// with commands Apply must reject. It guesses each task's status so that
// most updates follow the lifecycle, while the rest are random moves.
type logGenerator struct {
	rng       *rand.Rand
	tasks     []string
	taskStep  map[string]int    // guessed position of the task in lifecycle
	taskNode  map[string]string // guessed node of the task
	nodeNames []string          // the last name is never registered
}

func randomLog(t testing.TB, seed int64, n int) [][]byte {
	t.Helper()
	g := &logGenerator{
		rng:       rand.New(rand.NewSource(seed)),
		taskStep:  make(map[string]int),
		taskNode:  make(map[string]string),
		nodeNames: []string{"n0", "n1", "n2", "n3", "n4", "n-never"},
	}
	entries := make([][]byte, 0, n)
	for step := range n {
		if data := g.rawEntry(); data != nil {
			entries = append(entries, data)
			continue
		}
		entries = append(entries, encode(t, g.command(step)))
	}
	return entries
}

// rawEntry returns an undecodable entry for about one step in thirty, and
// nil otherwise.
func (g *logGenerator) rawEntry() []byte {
	if g.rng.Intn(30) != 0 {
		return nil
	}
	switch g.rng.Intn(3) {
	case 0:
		return []byte{99, CommandVersion, '{', '}'}
	case 1:
		return []byte{byte(CommandCreateTask), CommandVersion + 1, '{', '}'}
	default:
		return []byte{byte(CommandCreateTask)}
	}
}

func (g *logGenerator) command(step int) Command {
	now := at(step)
	switch roll := g.rng.Intn(100); {
	case roll < 8:
		return g.registerNode(now)
	case roll < 30 || len(g.tasks) == 0:
		return g.createTask(step, now)
	case roll < 75:
		return g.updateTask(now)
	case roll < 83:
		return g.setNodeStatus(now)
	case roll < 94:
		return g.heartbeats(now)
	default:
		return g.masterAddress()
	}
}

func (g *logGenerator) registerNode(now time.Time) Command {
	n := newTestNode(g.nodeNames[g.rng.Intn(len(g.nodeNames)-1)])
	n.Capacity = g.rng.Intn(8)
	n.LastHeartbeat, n.RegisteredAt = now, now
	if g.rng.Intn(10) == 0 {
		n.Port = 0
	}
	return RegisterNode{Node: n}
}

func (g *logGenerator) createTask(step int, now time.Time) Command {
	task := newTestTask(fmt.Sprintf("task-%04d", step), now)
	switch g.rng.Intn(20) {
	case 0:
		if len(g.tasks) > 0 {
			task.TaskID = g.tasks[g.rng.Intn(len(g.tasks))]
			return CreateTask{Task: task}
		}
	case 1:
		task.Image = ""
		return CreateTask{Task: task}
	case 2:
		task.Env = map[string]string{"STEP": fmt.Sprint(step)}
	}
	g.tasks = append(g.tasks, task.TaskID)
	return CreateTask{Task: task}
}

func (g *logGenerator) updateTask(now time.Time) Command {
	if g.rng.Intn(20) == 0 {
		return UpdateTaskStatus{TaskID: "task-missing", Update: types.TaskStatusUpdate{Status: types.TaskFailed}, Time: now}
	}
	// Recent tasks are more likely to be mid-lifecycle.
	recent := min(len(g.tasks), 15)
	id := g.tasks[len(g.tasks)-1-g.rng.Intn(recent)]

	var u types.TaskStatusUpdate
	if pos := g.taskStep[id]; g.rng.Intn(10) < 7 && pos+1 < len(lifecycle) {
		u.Status = lifecycle[pos+1]
		g.taskStep[id] = pos + 1
	} else {
		statuses := append(append([]types.TaskStatus(nil), allTaskStatuses...), "paused")
		u.Status = statuses[g.rng.Intn(len(statuses))]
	}

	switch {
	case u.Status == types.TaskScheduled:
		u.NodeID = g.nodeNames[g.rng.Intn(len(g.nodeNames))]
		g.taskNode[id] = u.NodeID
	case g.rng.Intn(8) == 0:
		u.NodeID = g.nodeNames[g.rng.Intn(len(g.nodeNames))]
	case g.rng.Intn(2) == 0:
		u.NodeID = g.taskNode[id]
	}
	if u.Status == types.TaskRunning {
		u.ContainerID = "ctr-" + id
	}
	if u.Status.Terminal() && g.rng.Intn(2) == 0 {
		u.ExitCode = intPtr(g.rng.Intn(3))
	}
	if u.Status == types.TaskFailed {
		u.Reason, u.Message = types.ReasonContainerError, "exited"
	}
	return UpdateTaskStatus{TaskID: id, Update: u, Time: now}
}

func (g *logGenerator) setNodeStatus(now time.Time) Command {
	c := SetNodeStatus{NodeID: g.nodeNames[g.rng.Intn(len(g.nodeNames))], Time: now}
	switch roll := g.rng.Intn(20); {
	case roll == 0:
		c.Status = "draining"
	case roll < 11:
		c.Status = types.NodeOffline
	default:
		c.Status = types.NodeOnline
	}
	return c
}

func (g *logGenerator) heartbeats(now time.Time) Command {
	seen := make(map[string]time.Time)
	for _, id := range g.nodeNames {
		if g.rng.Intn(2) == 0 {
			// Some times are earlier than the stored ones, which Apply ignores.
			seen[id] = now.Add(time.Duration(g.rng.Intn(60)-30) * time.Second)
		}
	}
	return NodeHeartbeats{LastSeen: seen}
}

func (g *logGenerator) masterAddress() Command {
	id := fmt.Sprintf("m%d", g.rng.Intn(3))
	if g.rng.Intn(7) == 0 {
		return SetMasterAddress{ServerID: id}
	}
	return SetMasterAddress{ServerID: id, APIAddress: fmt.Sprintf("http://%s-%d:8070", id, g.rng.Intn(100))}
}

// applyAll applies entries at the indexes after the last applied one and
// returns Apply's results.
func applyAll(f *FSM, entries [][]byte) []any {
	results := make([]any, 0, len(entries))
	for _, data := range entries {
		results = append(results, applyData(f, data))
	}
	return results
}

// checkSameResults compares Apply results entry by entry. Errors are
// compared by message, because each Apply builds new error values.
func checkSameResults(t *testing.T, expected, got []any) {
	t.Helper()
	if len(expected) != len(got) {
		t.Fatalf("expected %d results, got %d", len(expected), len(got))
	}
	for i := range expected {
		wantErr, wantIsErr := expected[i].(error)
		gotErr, gotIsErr := got[i].(error)
		switch {
		case wantIsErr && gotIsErr:
			if wantErr.Error() != gotErr.Error() {
				t.Errorf("entry %d: expected error %q, got %q", i, wantErr, gotErr)
			}
		case wantIsErr || gotIsErr || !reflect.DeepEqual(expected[i], got[i]):
			t.Errorf("entry %d: expected result %s, got %s", i, show(expected[i]), show(got[i]))
		}
	}
}

// checkLogCoverage fails the test unless the log reaches every task status,
// fails a task by node loss and hits every kind of rejection, so that a log
// too tame to exercise Apply cannot pass unnoticed.
func checkLogCoverage(t *testing.T, f *FSM, results []any) {
	t.Helper()
	sentinels := []error{
		ErrNotFound, ErrAlreadyExists, ErrIllegalTransition,
		ErrConflict, ErrInvalidCommand, ErrUnknownCommand,
	}
	hits := make(map[error]int)
	accepted := 0
	for _, res := range results {
		err := resultError(res)
		if err == nil {
			accepted++
			continue
		}
		for _, sentinel := range sentinels {
			if errors.Is(err, sentinel) {
				hits[sentinel]++
			}
		}
	}

	if accepted < len(results)/3 {
		t.Errorf("accepted entries: expected at least %d, got %d", len(results)/3, accepted)
	}
	for _, sentinel := range sentinels {
		if hits[sentinel] == 0 {
			t.Errorf("rejections with %q: expected at least one, got none", sentinel)
		}
	}

	count := f.TaskCount()
	for _, status := range allTaskStatuses {
		if count[status] == 0 {
			t.Errorf("tasks in status %s: expected at least one, got none", status)
		}
	}

	lost := 0
	for _, task := range f.Tasks(TaskFilter{Status: types.TaskFailed}) {
		if task.Reason == types.ReasonNodeLost {
			lost++
		}
	}
	if lost == 0 {
		t.Error("tasks failed by node loss: expected at least one, got none")
	}
}

func TestApply_Deterministic(t *testing.T) {
	tests := []struct {
		name string
		seed int64
		size int
	}{
		{"seed 1", 1, 300},
		{"seed 42", 42, 400},
		{"seed 20250119", 20250119, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries := randomLog(t, tt.seed, tt.size)

			first, second := New(nil), New(nil)
			resultsFirst := applyAll(first, entries)
			resultsSecond := applyAll(second, entries)

			checkLogCoverage(t, first, resultsFirst)
			checkSameResults(t, resultsFirst, resultsSecond)
			want := captureState(first)
			checkSameState(t, want, captureState(second))
			if want.AppliedIndex != uint64(len(entries)) {
				t.Errorf("applied index: expected %d, got %d", len(entries), want.AppliedIndex)
			}
		})
	}
}

func TestApply_DeterministicAcrossSnapshot(t *testing.T) {
	tests := []struct {
		name  string
		seed  int64
		size  int
		split int
	}{
		{"split in the middle", 7, 400, 200},
		{"split early", 8, 300, 25},
		{"split late", 9, 300, 290},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries := randomLog(t, tt.seed, tt.size)
			whole := New(nil)
			resultsWhole := applyAll(whole, entries)

			half := New(nil)
			applyAll(half, entries[:tt.split])
			resumed := New(nil)
			if err := resumed.Restore(newTrackedReader(persistSnapshot(t, half))); err != nil {
				t.Fatalf("Restore: expected no error, got %v", err)
			}
			if got := resumed.AppliedIndex(); got != uint64(tt.split) {
				t.Fatalf("applied index after restore: expected %d, got %d", tt.split, got)
			}
			resultsRest := applyAll(resumed, entries[tt.split:])

			checkSameResults(t, resultsWhole[tt.split:], resultsRest)
			checkSameState(t, captureState(whole), captureState(resumed))
		})
	}
}
