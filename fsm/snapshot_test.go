package fsm

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/podling/podling/internal/types"
)

func TestSnapshot_RestoreRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		build func(t *testing.T) *FSM
	}{
		{"empty state", func(*testing.T) *FSM { return New(nil) }},
		{"tasks in every status", populated},
		{"node lost", func(t *testing.T) *FSM {
			f := populated(t)
			setNodeStatus(t, f, "n1", types.NodeOffline, at(900))
			mustApply(t, f, SetMasterAddress{ServerID: "m2", APIAddress: "http://m2:8070"})
			return f
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.build(t)
			want := captureState(src)
			data := persistSnapshot(t, src)

			dst := New(nil)
			changed := dst.Changed()
			if err := dst.Restore(newTrackedReader(data)); err != nil {
				t.Fatalf("Restore: expected no error, got %v", err)
			}

			checkSameState(t, want, captureState(dst))
			select {
			case <-changed:
			default:
				t.Error("Changed: expected the channel closed by Restore, got it open")
			}
		})
	}
}

func TestSnapshot_ReplacesExistingState(t *testing.T) {
	src := New(nil)
	registerNode(t, src, "n7")
	addTask(t, src, "t7", at(70), types.TaskRunning, "n7")
	want := captureState(src)
	data := persistSnapshot(t, src)

	dst := populated(t)
	if err := dst.Restore(newTrackedReader(data)); err != nil {
		t.Fatalf("Restore: expected no error, got %v", err)
	}

	checkSameState(t, want, captureState(dst))
	if addr, ok := dst.MasterAddress("m1"); ok {
		t.Errorf("MasterAddress(m1): expected not found after restore, got %q", addr)
	}
}

func TestSnapshot_UnaffectedByLaterApply(t *testing.T) {
	f := populated(t)
	want := captureState(f)
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot: expected no error, got %v", err)
	}

	// Raft persists a snapshot while Apply goes on, so these changes must
	// not reach the snapshot taken before them.
	updateTask(t, f, "t3", types.TaskStatusUpdate{Status: types.TaskCompleted, ExitCode: intPtr(0)}, at(800))
	setNodeStatus(t, f, "n2", types.NodeOffline, at(801))
	mustApply(t, f, CreateTask{Task: newTestTask("t-late", at(802))})
	mustApply(t, f, SetMasterAddress{ServerID: "m1", APIAddress: "http://moved:8070"})
	mustApply(t, f, NodeHeartbeats{LastSeen: map[string]time.Time{"n1": at(803)}})
	data := persist(t, snap)

	restored := New(nil)
	if err := restored.Restore(newTrackedReader(data)); err != nil {
		t.Fatalf("Restore: expected no error, got %v", err)
	}
	checkSameState(t, want, captureState(restored))
}

func TestSnapshot_RestoredStateKeepsApplying(t *testing.T) {
	src := populated(t)
	restored := New(nil)
	if err := restored.Restore(newTrackedReader(persistSnapshot(t, src))); err != nil {
		t.Fatalf("Restore: expected no error, got %v", err)
	}

	// Taking n1 offline fails the tasks found through the node index, so
	// the index must have been rebuilt by Restore.
	for _, f := range []*FSM{src, restored} {
		setNodeStatus(t, f, "n1", types.NodeOffline, at(900))
		updateTask(t, f, "t4", types.TaskStatusUpdate{Status: types.TaskCompleted, NodeID: "n2"}, at(901))
	}

	checkSameState(t, captureState(src), captureState(restored))
	if got := restored.TaskCount()[types.TaskFailed]; got != 3 {
		t.Errorf("failed tasks after restore and node loss: expected 3, got %d", got)
	}
}

func TestRestore_Rejects(t *testing.T) {
	valid := persistSnapshot(t, populated(t))
	withVersion := func(version int) []byte {
		var raw map[string]any
		if err := json.Unmarshal(valid, &raw); err != nil {
			t.Fatalf("decode snapshot: %v", err)
		}
		if version == 0 {
			delete(raw, "version")
		} else {
			raw["version"] = version
		}
		out, err := json.Marshal(raw)
		if err != nil {
			t.Fatalf("encode snapshot: %v", err)
		}
		return out
	}

	tests := []struct {
		name    string
		data    []byte
		wantErr string
	}{
		{"newer version", withVersion(SnapshotVersion + 1), "version"},
		{"version missing", withVersion(0), "version"},
		{"negative version", withVersion(-1), "version"},
		{"garbage", []byte("\x00\x01not a snapshot\xff"), "read snapshot"},
		{"empty", nil, "read snapshot"},
		{"truncated", valid[:len(valid)/2], "read snapshot"},
		{"JSON of the wrong shape", []byte(`{"version":1,"tasks":{"t1":"x"}}`), "read snapshot"},
		{"null task", []byte(`{"version":1,"tasks":[null]}`), "task 0"},
		{"task without ID", []byte(`{"version":1,"tasks":[{"name":"x"}]}`), "task 0"},
		{"repeated task ID", []byte(`{"version":1,"tasks":[{"taskId":"a"},{"taskId":"a"}]}`), "task 1"},
		{"null node", []byte(`{"version":1,"nodes":[null]}`), "node 0"},
		{"trailing data", append(append([]byte(nil), valid...), []byte(`{"version":1}`)...), "after the state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New(nil)
			registerNode(t, f, "n-old")
			addTask(t, f, "t-old", at(1), types.TaskRunning, "n-old")
			mustApply(t, f, SetMasterAddress{ServerID: "m-old", APIAddress: "http://old:8070"})
			before := captureState(f)
			rc := newTrackedReader(tt.data)

			err := f.Restore(rc)

			if err == nil {
				t.Fatal("expected an error, got nil")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("expected an error mentioning %q, got %v", tt.wantErr, err)
			}
			if !rc.closed {
				t.Error("expected the snapshot reader closed, got it open")
			}
			checkSameState(t, before, captureState(f))
		})
	}
}

func TestSnapshot_PersistFormat(t *testing.T) {
	f := populated(t)
	data := persistSnapshot(t, f)

	var head struct {
		Version      int    `json:"version"`
		AppliedIndex uint64 `json:"appliedIndex"`
	}
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&head); err != nil {
		t.Fatalf("decode snapshot: expected JSON, got error %v", err)
	}
	if head.Version != SnapshotVersion {
		t.Errorf("version: expected %d, got %d", SnapshotVersion, head.Version)
	}
	if want := f.AppliedIndex(); head.AppliedIndex != want {
		t.Errorf("applied index: expected %d, got %d", want, head.AppliedIndex)
	}
}

// failingSink is a raft.SnapshotSink whose writes fail.
type failingSink struct{ memSink }

func (s *failingSink) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestSnapshot_PersistWriteFails(t *testing.T) {
	snap, err := populated(t).Snapshot()
	if err != nil {
		t.Fatalf("Snapshot: expected no error, got %v", err)
	}
	defer snap.Release()
	sink := &failingSink{}

	err = snap.Persist(sink)

	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("expected an error naming the write failure, got %v", err)
	}
	if !sink.cancelled {
		t.Error("expected the sink cancelled, got it not cancelled")
	}
	if sink.closed {
		t.Error("expected the sink not closed, got it closed")
	}
}
