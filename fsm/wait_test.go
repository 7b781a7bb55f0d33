package fsm

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/podling/podling/internal/types"
)

// waitGuard bounds how long a test waits for a goroutine that should
// already have finished, so a bug fails the test instead of hanging it.
const waitGuard = 10 * time.Second

func receiveError(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(waitGuard):
		t.Fatalf("WaitForIndex: expected it to return, still blocked after %v", waitGuard)
		return nil
	}
}

// startWait runs WaitForIndex in a goroutine and returns the channel that
// receives its result.
func startWait(ctx context.Context, f *FSM, index uint64) <-chan error {
	done := make(chan error, 1)
	go func() { done <- f.WaitForIndex(ctx, index) }()
	return done
}

func checkStillWaiting(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("WaitForIndex: expected it still blocked, got return with %v", err)
	default:
	}
}

func masterCmd(t *testing.T) []byte {
	t.Helper()
	return encode(t, SetMasterAddress{ServerID: "m1", APIAddress: "http://m1:8070"})
}

func TestAppliedIndex_FollowsApply(t *testing.T) {
	f := New(nil)
	if got := f.AppliedIndex(); got != 0 {
		t.Fatalf("new FSM: expected applied index 0, got %d", got)
	}

	tests := []struct {
		name  string
		index uint64
		data  []byte
		want  uint64
	}{
		{"accepted command", 1, masterCmd(t), 1},
		{"index gap", 5, masterCmd(t), 5},
		{"rejected command", 6, encode(t, SetNodeStatus{NodeID: "n9", Status: types.NodeOffline}), 6},
		{"undecodable entry", 7, []byte{0xff}, 7},
		{"lower index never moves it back", 3, masterCmd(t), 7},
	}
	// The steps build on each other, so they run in order on one FSM.
	for _, tt := range tests {
		f.Apply(&raft.Log{Index: tt.index, Data: tt.data})

		if got := f.AppliedIndex(); got != tt.want {
			t.Errorf("%s at index %d: expected applied index %d, got %d", tt.name, tt.index, tt.want, got)
		}
	}
}

func TestChanged_ClosedOnEveryEntry(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, f *FSM)
	}{
		{"accepted command", func(t *testing.T, f *FSM) { applyData(f, masterCmd(t)) }},
		{"rejected command", func(t *testing.T, f *FSM) {
			applyData(f, encode(t, CreateTask{Task: types.Task{TaskID: "t1"}}))
		}},
		{"undecodable entry", func(t *testing.T, f *FSM) { applyData(f, nil) }},
		{"restore", func(t *testing.T, f *FSM) {
			if err := f.Restore(newTrackedReader(persistSnapshot(t, populated(t)))); err != nil {
				t.Fatalf("Restore: expected no error, got %v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New(nil)
			changed := f.Changed()
			select {
			case <-changed:
				t.Fatal("before the change: expected the channel open, got it closed")
			default:
			}

			tt.change(t, f)

			select {
			case <-changed:
			default:
				t.Fatal("after the change: expected the channel closed, got it open")
			}
			select {
			case <-f.Changed():
				t.Error("next channel: expected it open, got it closed")
			default:
			}
		})
	}
}

func TestWaitForIndex_AlreadyApplied(t *testing.T) {
	f := New(nil)
	applyData(f, masterCmd(t))
	applyData(f, masterCmd(t))

	tests := []struct {
		name  string
		index uint64
	}{
		{"index zero", 0},
		{"earlier index", 1},
		{"last applied index", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A cancelled context shows that WaitForIndex checks the
			// applied index before it would wait.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()

			if err := f.WaitForIndex(ctx, tt.index); err != nil {
				t.Errorf("expected nil, got %v", err)
			}
		})
	}
}

func TestWaitForIndex_BlocksUntilApplied(t *testing.T) {
	f := New(nil)
	applyData(f, masterCmd(t))

	done := startWait(context.Background(), f, 3)
	checkStillWaiting(t, done)

	applyData(f, masterCmd(t))
	checkStillWaiting(t, done)

	applyData(f, masterCmd(t))
	if err := receiveError(t, done); err != nil {
		t.Fatalf("expected nil after index 3 was applied, got %v", err)
	}
	if got := f.AppliedIndex(); got != 3 {
		t.Errorf("applied index: expected 3, got %d", got)
	}
}

func TestWaitForIndex_ReleasedByRestore(t *testing.T) {
	src := populated(t)
	f := New(nil)

	done := startWait(context.Background(), f, src.AppliedIndex())
	checkStillWaiting(t, done)

	if err := f.Restore(newTrackedReader(persistSnapshot(t, src))); err != nil {
		t.Fatalf("Restore: expected no error, got %v", err)
	}
	if err := receiveError(t, done); err != nil {
		t.Errorf("expected nil after restore, got %v", err)
	}
}

func TestWaitForIndex_ContextEnds(t *testing.T) {
	tests := []struct {
		name    string
		context func() (context.Context, context.CancelFunc)
		wantErr error
	}{
		{"already cancelled", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}, context.Canceled},
		{"deadline passed", func() (context.Context, context.CancelFunc) {
			return context.WithDeadline(context.Background(), baseTime)
		}, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New(nil)
			applyData(f, masterCmd(t))
			ctx, cancel := tt.context()
			defer cancel()

			err := f.WaitForIndex(ctx, 2)

			if !errors.Is(err, tt.wantErr) {
				t.Errorf("expected %v, got %v", tt.wantErr, err)
			}
		})
	}

	t.Run("cancelled while waiting", func(t *testing.T) {
		f := New(nil)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := startWait(ctx, f, 10)
		applyData(f, masterCmd(t))
		checkStillWaiting(t, done)

		cancel()

		if err := receiveError(t, done); !errors.Is(err, context.Canceled) {
			t.Errorf("expected %v, got %v", context.Canceled, err)
		}
	})
}

func TestFSM_ConcurrentReadsDuringApply(t *testing.T) {
	f := New(nil)
	entries := randomLog(t, 3, 400)
	stop := make(chan struct{})
	var readers sync.WaitGroup

	read := func(view func()) {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
					view()
				}
			}
		}()
	}
	read(func() { f.Tasks(TaskFilter{}) })
	read(func() { f.Tasks(TaskFilter{Status: types.TaskRunning, NodeID: "n1"}) })
	read(func() { f.Nodes(); f.TaskCount(); f.MasterAddress("m1") })
	read(func() {
		if snap, err := f.Snapshot(); err == nil {
			_ = snap.Persist(&memSink{})
		}
	})
	waiter := startWait(context.Background(), f, uint64(len(entries)))

	applyAll(f, entries)
	close(stop)
	readers.Wait()

	if err := receiveError(t, waiter); err != nil {
		t.Errorf("WaitForIndex(%d): expected nil, got %v", len(entries), err)
	}
}
