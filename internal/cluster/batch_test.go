package cluster

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/podling/podling/fsm"
	"github.com/podling/podling/internal/testutil"
	"github.com/podling/podling/internal/types"
)

// fakeFuture is a finished raft.ApplyFuture.
type fakeFuture struct {
	err      error
	index    uint64
	response any
}

func (f fakeFuture) Error() error  { return f.err }
func (f fakeFuture) Index() uint64 { return f.index }
func (f fakeFuture) Response() any { return f.response }

// fakeLog applies entries to a real state machine, as a one-member Raft
// would, and keeps them.
type fakeLog struct {
	mu      sync.Mutex
	state   *fsm.FSM
	entries [][]byte
	fail    error
}

func (l *fakeLog) apply(data []byte) raft.ApplyFuture {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail != nil {
		return fakeFuture{err: l.fail}
	}
	l.entries = append(l.entries, data)
	index := uint64(len(l.entries))
	return fakeFuture{index: index, response: l.state.Apply(&raft.Log{Index: index, Data: data})}
}

func queued(t *testing.T, b *batcher, cmds ...fsm.Command) []*proposal {
	t.Helper()
	var proposals []*proposal
	for _, cmd := range cmds {
		data, err := fsm.Encode(cmd)
		if err != nil {
			t.Fatalf("encode %s: %v", cmd.Type(), err)
		}
		p := &proposal{data: data, done: make(chan outcome, 1)}
		if err := b.enqueue(p, time.Second); err != nil {
			t.Fatalf("enqueue %s: expected no error, got %v", cmd.Type(), err)
		}
		proposals = append(proposals, p)
	}
	return proposals
}

// runOnce submits what is queued as the batcher's loop would, once.
func runOnce(b *batcher) { b.submit(b.collect(<-b.queue)) }

func createTask(id string) fsm.CreateTask {
	return fsm.CreateTask{Task: types.Task{TaskID: id, Name: id, Image: "podling/echo:dev", CreatedAt: time.Unix(1, 0).UTC()}}
}

func TestBatcher_QueuedProposalsShareOneEntry(t *testing.T) {
	log := &fakeLog{state: fsm.New(nil)}
	b := newBatcher(log.apply)
	missing := fsm.UpdateTaskStatus{TaskID: "missing", Update: types.TaskStatusUpdate{Status: types.TaskRunning}}
	proposals := queued(t, b, createTask("t1"), missing, createTask("t2"))

	runOnce(b)

	if len(log.entries) != 1 {
		t.Fatalf("log entries: expected 1, got %d", len(log.entries))
	}
	first, second, third := <-proposals[0].done, <-proposals[1].done, <-proposals[2].done
	if task, ok := first.value.(types.Task); !ok || task.TaskID != "t1" {
		t.Errorf("first outcome: expected task t1, got %#v", first)
	}
	if err, ok := second.value.(error); !ok || !errors.Is(err, fsm.ErrNotFound) {
		t.Errorf("second outcome: expected an error wrapping fsm.ErrNotFound, got %#v", second)
	}
	if task, ok := third.value.(types.Task); !ok || task.TaskID != "t2" {
		t.Errorf("third outcome: expected task t2, got %#v", third)
	}
	for i, out := range []outcome{first, second, third} {
		if out.index != 1 || out.err != nil {
			t.Errorf("outcome %d: expected index 1 and no error, got index %d and %v", i, out.index, out.err)
		}
	}
}

func TestBatcher_LoneProposalIsNotWrapped(t *testing.T) {
	log := &fakeLog{state: fsm.New(nil)}
	b := newBatcher(log.apply)
	proposals := queued(t, b, createTask("alone"))

	runOnce(b)

	if len(log.entries) != 1 || string(log.entries[0]) != string(proposals[0].data) {
		t.Fatalf("log: expected the proposal's own bytes as the only entry, got %d entries", len(log.entries))
	}
	if out := <-proposals[0].done; out.err != nil || out.value.(types.Task).TaskID != "alone" {
		t.Errorf("outcome: expected task alone, got %#v", out)
	}
}

func TestBatcher_FailedEntryFailsEveryProposal(t *testing.T) {
	log := &fakeLog{state: fsm.New(nil), fail: raft.ErrLeadershipLost}
	b := newBatcher(log.apply)
	proposals := queued(t, b, createTask("t1"), createTask("t2"))

	runOnce(b)

	for i, p := range proposals {
		if out := <-p.done; !errors.Is(out.err, ErrLeadershipLost) {
			t.Errorf("proposal %d: expected an error wrapping ErrLeadershipLost, got %v", i, out.err)
		}
	}
}

func TestBatcher_BatchStopsAtEntryLimit(t *testing.T) {
	log := &fakeLog{state: fsm.New(nil)}
	b := newBatcher(log.apply)
	var cmds []fsm.Command
	for i := range maxBatchEntries + 2 {
		cmds = append(cmds, createTask(fmt.Sprintf("t%d", i)))
	}
	queued(t, b, cmds...)

	runOnce(b)
	runOnce(b)

	if len(log.entries) != 2 {
		t.Fatalf("log entries: expected 2, got %d", len(log.entries))
	}
	first, err := fsm.Decode(log.entries[0])
	if err != nil {
		t.Fatalf("decode first entry: %v", err)
	}
	if got := len(first.(fsm.Batch).Entries); got != maxBatchEntries {
		t.Errorf("first entry: expected %d commands, got %d", maxBatchEntries, got)
	}
	if got := len(log.state.Tasks(fsm.TaskFilter{})); got != maxBatchEntries+2 {
		t.Errorf("tasks: expected %d, got %d", maxBatchEntries+2, got)
	}
}

func TestBatcher_ClosedBatcherTakesNoProposals(t *testing.T) {
	log := &fakeLog{state: fsm.New(nil)}
	b := newBatcher(log.apply)
	before := queued(t, b, createTask("before"))
	b.start()

	b.close()

	if out := <-before[0].done; out.err != nil {
		t.Errorf("proposal queued before close: expected it applied, got %v", out.err)
	}
	p := &proposal{data: []byte{1}, done: make(chan outcome, 1)}
	if err := b.enqueue(p, time.Second); !errors.Is(err, ErrShutdown) {
		t.Errorf("enqueue after close: expected ErrShutdown, got %v", err)
	}
}

func TestPropose_ConcurrentProposalsGetTheirOwnResults(t *testing.T) {
	n, err := Open(Config{
		ID: "solo", BindAddr: testutil.FreeAddr(t), DataDir: filepath.Join(t.TempDir(), "solo"),
		FSM: fsm.New(nil), Timing: Timing{Heartbeat: 100 * time.Millisecond, Election: 100 * time.Millisecond},
	})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer n.Shutdown()
	deadline := time.Now().Add(5 * time.Second)
	for !n.IsLeader() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !n.IsLeader() {
		t.Fatal("single member: expected it to lead within 5s")
	}

	const proposals = 200
	var wg sync.WaitGroup
	errs := make(chan error, proposals)
	for i := range proposals {
		wg.Go(func() {
			id := fmt.Sprintf("t%03d", i)
			res, err := n.Propose(context.Background(), createTask(id))
			if err != nil {
				errs <- fmt.Errorf("propose %s: %w", id, err)
				return
			}
			if task, ok := res.Value.(types.Task); !ok || task.TaskID != id {
				errs <- fmt.Errorf("propose %s: got result %#v", id, res.Value)
			}
		})
	}
	wg.Wait()
	close(errs)

	for err := range errs {
		t.Error(err)
	}
	if got := len(n.fsm.Tasks(fsm.TaskFilter{})); got != proposals {
		t.Errorf("tasks: expected %d, got %d", proposals, got)
	}
}
