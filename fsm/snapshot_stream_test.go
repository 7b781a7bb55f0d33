package fsm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/podling/podling/internal/types"
)

// richState returns an FSM with every part a snapshot contains: tasks,
// nodes, pods, services, idempotency records, leader changes and master
// addresses.
func richState(t *testing.T) *FSM {
	t.Helper()
	f := populated(t)
	mustApply(t, f, keyedTask("t-keyed", at(80), "k1", "h1"))
	addPod(t, f, newTestPod("p1", at(90)), types.PodRunning, "n1")
	addPod(t, f, newTestPod("p2", at(91)), types.PodPending, "")
	mustApply(t, f, CreateService{
		Service:     newTestService("s1", "web", types.DefaultNamespace, map[string]string{"app": "web"}),
		Idempotency: &Idempotency{Key: "k2", RequestHash: "h2", Time: at(92)},
	})
	mustApply(t, f, RecordLeader{ServerID: "m1", Term: 2, Time: at(93)})
	mustApply(t, f, RecordLeader{ServerID: "m2", Term: 3, Time: at(94)})
	mustApply(t, f, SetMasterAddress{ServerID: "m2", APIAddress: "http://m2:8070"})
	return f
}

// snapshotOf returns the snapshot data of f's state.
func snapshotOf(t *testing.T, f *FSM) *snapshotData {
	t.Helper()
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot: expected no error, got %v", err)
	}
	return snap.(*snapshotData)
}

// restoreInto restores data into a new FSM.
func restoreInto(t *testing.T, data []byte) *FSM {
	t.Helper()
	f := New(nil)
	if err := f.Restore(newTrackedReader(data)); err != nil {
		t.Fatalf("Restore: expected no error, got %v", err)
	}
	return f
}

func TestSnapshot_StreamedRoundTripsEveryPart(t *testing.T) {
	src := richState(t)
	want := snapshotOf(t, src)
	if len(want.Pods) == 0 || len(want.Services) == 0 || len(want.Idempotency) < 2 || len(want.Leaders) == 0 {
		t.Fatalf("richState: expected every part filled, got %s", show(want))
	}

	dst := restoreInto(t, persistSnapshot(t, src))

	if got := snapshotOf(t, dst); !reflect.DeepEqual(want, got) {
		t.Errorf("restored snapshot data:\n  expected %s\n  got      %s", show(want), show(got))
	}
	checkSameState(t, captureState(src), captureState(dst))
}

func TestSnapshot_StreamedBytesEqualEncoderOutput(t *testing.T) {
	tests := []struct {
		name string
		data func(t *testing.T) *snapshotData
	}{
		{"every part", func(t *testing.T) *snapshotData { return snapshotOf(t, richState(t)) }},
		{"empty state", func(t *testing.T) *snapshotData { return snapshotOf(t, New(nil)) }},
		{"nil lists and masters", func(*testing.T) *snapshotData { return &snapshotData{Version: SnapshotVersion} }},
		{"text JSON escapes", func(t *testing.T) *snapshotData {
			data := snapshotOf(t, New(nil))
			task := newTestTask("t<&>\u2028", at(1))
			data.Tasks = append(data.Tasks, &task)
			data.Masters["m\"1"] = "http://m1:8070/?a=1&b=<2>"
			return data
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.data(t)
			var want bytes.Buffer
			if err := json.NewEncoder(&want).Encode(data); err != nil {
				t.Fatalf("encode with json.Encoder: %v", err)
			}
			var got bytes.Buffer

			if err := data.encode(&got); err != nil {
				t.Fatalf("encode: expected no error, got %v", err)
			}

			if !bytes.Equal(want.Bytes(), got.Bytes()) {
				t.Errorf("streamed snapshot:\n  expected %s\n  got      %s", want.Bytes(), got.Bytes())
			}
		})
	}
}

func TestSnapshot_WriteSnapshotEqualsPersist(t *testing.T) {
	f := richState(t)
	var written bytes.Buffer

	if err := f.WriteSnapshot(&written); err != nil {
		t.Fatalf("WriteSnapshot: expected no error, got %v", err)
	}

	if persisted := persistSnapshot(t, f); !bytes.Equal(written.Bytes(), persisted) {
		t.Errorf("WriteSnapshot:\n  expected the bytes Persist writes, %s\n  got %s", persisted, written.Bytes())
	}
}

func TestRestore_ReadsOtherLayoutsOfTheFormat(t *testing.T) {
	src := richState(t)
	data := snapshotOf(t, src)
	var keysSorted map[string]json.RawMessage
	marshalled, err := json.Marshal(data)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	if err := json.Unmarshal(marshalled, &keysSorted); err != nil {
		t.Fatalf("json.Unmarshal: %v", err)
	}
	indented, err := json.MarshalIndent(data, "", "  ")
	if err != nil {
		t.Fatalf("json.MarshalIndent: %v", err)
	}
	sorted, err := json.Marshal(keysSorted)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	withUnknown := append([]byte(`{"comment":{"by":["backup"]},`), marshalled[1:]...)

	for name, layout := range map[string][]byte{
		"json.Marshal without a final newline": marshalled,
		"indented":                             indented,
		"keys in another order":                sorted,
		"an unknown key":                       withUnknown,
		"keys in other case":                   bytes.Replace(marshalled, []byte(`"appliedIndex"`), []byte(`"AppliedIndex"`), 1),
	} {
		t.Run(name, func(t *testing.T) {
			dst := restoreInto(t, layout)

			if got := snapshotOf(t, dst); !reflect.DeepEqual(data, got) {
				t.Errorf("restored snapshot data:\n  expected %s\n  got      %s", show(data), show(got))
			}
		})
	}
}

func TestRestore_RejectsMalformedObjects(t *testing.T) {
	valid := persistSnapshot(t, richState(t))
	tests := []struct {
		name    string
		data    []byte
		wantErr string
	}{
		{"version 0", []byte(`{"version":0,"tasks":[]}`), "version 0"},
		{"version 2", []byte(`{"version":2,"tasks":[]}`), "version 2"},
		{"repeated key", []byte(`{"version":1,"tasks":[],"tasks":[]}`), `duplicate key "tasks"`},
		{"repeated key in other case", []byte(`{"version":1,"Version":1}`), `duplicate key "Version"`},
		{"repeated unknown key", []byte(`{"version":1,"x":1,"x":2}`), `duplicate key "x"`},
		{"not an object", []byte(`[{"version":1}]`), "expected {"},
		{"null", []byte(`null`), "expected {"},
		{"list of the wrong type", []byte(`{"version":1,"pods":"p1"}`), "pods"},
		{"element of the wrong type", []byte(`{"version":1,"tasks":[1]}`), "tasks"},
		{"trailing garbage", append(append([]byte(nil), valid...), 'x'), "after the state"},
		{"repeated pod ID", []byte(`{"version":1,"pods":[{"podId":"p","name":"a"},{"podId":"p","name":"b"}]}`), "pod 1"},
		{"idempotency record without key", []byte(`{"version":1,"idempotency":[{"objectId":"t"}]}`), "idempotency record 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := richState(t)
			before := captureState(f)

			err := f.Restore(newTrackedReader(tt.data))

			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("expected an error mentioning %q, got %v", tt.wantErr, err)
			}
			checkSameState(t, before, captureState(f))
		})
	}
}

func TestRestore_RejectsEveryTruncation(t *testing.T) {
	valid := persistSnapshot(t, richState(t))
	// The final newline is whitespace, so the object is whole without it.
	whole := len(bytes.TrimSuffix(valid, []byte("\n")))
	f := richState(t)
	before := captureState(f)

	for n := range whole {
		if err := f.Restore(newTrackedReader(valid[:n])); err == nil {
			t.Fatalf("Restore of the first %d of %d bytes: expected an error, got nil", n, len(valid))
		}
	}
	checkSameState(t, before, captureState(f))
}

func TestCheckSnapshot_ErrorMatchesErrInvalidSnapshot(t *testing.T) {
	err := CheckSnapshot(strings.NewReader(`{"version":9}`))

	if !errors.Is(err, ErrInvalidSnapshot) {
		t.Errorf("expected an error matching ErrInvalidSnapshot, got %v", err)
	}
	if err := CheckSnapshot(bytes.NewReader(persistSnapshot(t, richState(t)))); err != nil {
		t.Errorf("valid snapshot: expected no error, got %v", err)
	}
}

// preparedTasks returns the task pointers of the snapshot f has prepared.
func preparedTasks(t *testing.T, f *FSM) []*types.Task {
	t.Helper()
	f.preparedMu.Lock()
	defer f.preparedMu.Unlock()
	if f.prepared == nil {
		t.Fatal("expected a prepared snapshot, got none")
	}
	return f.prepared.data.Tasks
}

// checkNothingPrepared fails the test if f keeps a prepared snapshot.
func checkNothingPrepared(t *testing.T, f *FSM) {
	t.Helper()
	f.preparedMu.Lock()
	defer f.preparedMu.Unlock()
	if f.prepared != nil {
		t.Errorf("expected no prepared snapshot, got one of %d bytes", len(f.prepared.raw))
	}
}

// sharesTask reports whether f stores the very object task points to.
func sharesTask(f *FSM, task *types.Task) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.tasks[task.TaskID] == task
}

func TestPrepareRestore_SameBytesInstallPreparedState(t *testing.T) {
	src := richState(t)
	data := persistSnapshot(t, src)
	readers := map[string]func([]byte) io.Reader{
		"whole reads":   func(b []byte) io.Reader { return bytes.NewReader(b) },
		"one byte each": func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) },
		"EOF with data": func(b []byte) io.Reader { return iotest.DataErrReader(bytes.NewReader(b)) },
	}
	for name, reader := range readers {
		t.Run(name, func(t *testing.T) {
			f := New(nil)
			drop, err := f.PrepareRestore(data)
			if err != nil {
				t.Fatalf("PrepareRestore: expected no error, got %v", err)
			}
			defer drop()
			prepared := preparedTasks(t, f)

			if err := f.Restore(io.NopCloser(reader(bytes.Clone(data)))); err != nil {
				t.Fatalf("Restore: expected no error, got %v", err)
			}

			if !sharesTask(f, prepared[0]) {
				t.Error("Restore: expected the prepared task objects installed, got newly decoded ones")
			}
			checkSameState(t, captureState(src), captureState(f))
			checkNothingPrepared(t, f)
		})
	}
}

func TestPrepareRestore_OtherBytesAreDecoded(t *testing.T) {
	prepared := persistSnapshot(t, richState(t))
	other := New(nil)
	registerNode(t, other, "n-other")
	addTask(t, other, "t-other", at(5), types.TaskRunning, "n-other")
	otherData := persistSnapshot(t, other)
	tests := []struct {
		name    string
		data    []byte
		want    *FSM // nil when Restore must reject data
		wantErr string
	}{
		{"another snapshot", otherData, other, ""},
		{"the same snapshot with a key renamed", bytes.Replace(prepared, []byte(`"nodes"`), []byte(`"Nodes"`), 1), richState(t), ""},
		{"a prefix of the prepared bytes", prepared[:len(prepared)-10], nil, "read snapshot"},
		{"the prepared bytes and more", append(bytes.Clone(prepared), `{"version":1}`...), nil, "after the state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New(nil)
			registerNode(t, f, "n-before")
			before := captureState(f)
			drop, err := f.PrepareRestore(prepared)
			if err != nil {
				t.Fatalf("PrepareRestore: expected no error, got %v", err)
			}
			defer drop()
			tasks := preparedTasks(t, f)

			err = f.Restore(io.NopCloser(iotest.HalfReader(bytes.NewReader(tt.data))))

			checkNothingPrepared(t, f)
			if tt.want == nil {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Restore: expected an error mentioning %q, got %v", tt.wantErr, err)
				}
				checkSameState(t, before, captureState(f))
				return
			}
			if err != nil {
				t.Fatalf("Restore: expected no error, got %v", err)
			}
			checkSameState(t, captureState(tt.want), captureState(f))
			if sharesTask(f, tasks[0]) {
				t.Error("Restore: expected other bytes decoded, got the prepared task objects")
			}
		})
	}
}

func TestPrepareRestore_DropForgetsPreparedState(t *testing.T) {
	src := richState(t)
	data := persistSnapshot(t, src)
	f := New(nil)
	drop, err := f.PrepareRestore(data)
	if err != nil {
		t.Fatalf("PrepareRestore: expected no error, got %v", err)
	}
	tasks := preparedTasks(t, f)

	drop()

	checkNothingPrepared(t, f)
	if err := f.Restore(newTrackedReader(data)); err != nil {
		t.Fatalf("Restore after drop: expected no error, got %v", err)
	}
	if sharesTask(f, tasks[0]) {
		t.Error("Restore after drop: expected the bytes decoded again, got the dropped task objects")
	}
	checkSameState(t, captureState(src), captureState(f))
}

func TestPrepareRestore_DropLeavesLaterPreparation(t *testing.T) {
	data := persistSnapshot(t, richState(t))
	f := New(nil)
	dropFirst, err := f.PrepareRestore(data)
	if err != nil {
		t.Fatalf("first PrepareRestore: expected no error, got %v", err)
	}
	dropSecond, err := f.PrepareRestore(data)
	if err != nil {
		t.Fatalf("second PrepareRestore: expected no error, got %v", err)
	}
	second := preparedTasks(t, f)

	dropFirst()

	if got := preparedTasks(t, f); got[0] != second[0] {
		t.Error("drop of the first preparation: expected the second kept, got it replaced")
	}
	dropSecond()
	checkNothingPrepared(t, f)
}

func TestPrepareRestore_RejectsDamagedSnapshot(t *testing.T) {
	valid := persistSnapshot(t, richState(t))
	for name, data := range map[string][]byte{
		"truncated":     valid[:len(valid)/2],
		"version 2":     bytes.Replace(valid, []byte(`"version":1`), []byte(`"version":2`), 1),
		"trailing data": append(bytes.Clone(valid), "{}"...),
		"empty":         nil,
	} {
		t.Run(name, func(t *testing.T) {
			f := richState(t)
			before := captureState(f)

			drop, err := f.PrepareRestore(data)

			if !errors.Is(err, ErrInvalidSnapshot) {
				t.Errorf("expected an error matching ErrInvalidSnapshot, got %v", err)
			}
			if drop != nil {
				t.Error("expected no drop function with the error, got one")
			}
			checkNothingPrepared(t, f)
			checkSameState(t, before, captureState(f))
		})
	}
}

func TestRestore_LargeSnapshotRoundTrips(t *testing.T) {
	src := New(nil)
	registerNode(t, src, "n1")
	for i := range 2000 {
		mustApply(t, src, CreateTask{Task: newTestTask(fmt.Sprintf("t-%05d", i), at(i))})
	}
	data := persistSnapshot(t, src)

	// A reader that returns little at a time makes the decoder refill its
	// buffer many times in the middle of values.
	dst := New(nil)
	if err := dst.Restore(io.NopCloser(iotest.HalfReader(bytes.NewReader(data)))); err != nil {
		t.Fatalf("Restore: expected no error, got %v", err)
	}

	checkSameState(t, captureState(src), captureState(dst))
}
