package fsm

import (
	"errors"
	"reflect"
	"testing"

	"github.com/podling/podling/internal/types"
)

func batchOf(t *testing.T, cmds ...Command) Batch {
	t.Helper()
	var b Batch
	for _, cmd := range cmds {
		b.Entries = append(b.Entries, encode(t, cmd))
	}
	return b
}

func TestBatch_EncodeDecodeRoundTrip(t *testing.T) {
	b := batchOf(t, CreateTask{Task: newTestTask("t1", at(1))}, DeletePod{PodID: "p1"})

	decoded, err := Decode(encode(t, b))
	if err != nil {
		t.Fatalf("Decode: expected no error, got %v", err)
	}
	if !reflect.DeepEqual(decoded, b) {
		t.Errorf("round trip: expected %v, got %v", b, decoded)
	}
}

func TestBatch_AppliesEveryEntryInOrder(t *testing.T) {
	f := New(nil)
	b := batchOf(t,
		CreateTask{Task: newTestTask("t1", at(1))},
		UpdateTaskStatus{TaskID: "missing", Update: types.TaskStatusUpdate{Status: types.TaskRunning}, Time: at(2)},
		CreateTask{Task: newTestTask("t2", at(3))},
	)

	res := apply(t, f, b)

	results, ok := res.(BatchResults)
	if !ok {
		t.Fatalf("apply batch: expected BatchResults, got %T %v", res, res)
	}
	if len(results) != 3 {
		t.Fatalf("apply batch: expected 3 results, got %d", len(results))
	}
	if task, ok := results[0].(types.Task); !ok || task.TaskID != "t1" {
		t.Errorf("result 0: expected task t1, got %s", show(results[0]))
	}
	if err, ok := results[1].(error); !ok || !errors.Is(err, ErrNotFound) {
		t.Errorf("result 1: expected an error wrapping ErrNotFound, got %s", show(results[1]))
	}
	if task, ok := results[2].(types.Task); !ok || task.TaskID != "t2" {
		t.Errorf("result 2: expected task t2, got %s", show(results[2]))
	}
	if got := len(f.Tasks(TaskFilter{})); got != 2 {
		t.Errorf("tasks after the batch: expected 2, got %d", got)
	}
	if got := f.AppliedCount(CommandCreateTask); got != 2 {
		t.Errorf("create_task entries counted: expected 2, got %d", got)
	}
	if got := f.AppliedIndex(); got != 1 {
		t.Errorf("applied index: expected 1, got %d", got)
	}
}

func TestBatch_NestedBatchIsRejectedAlone(t *testing.T) {
	f := New(nil)
	inner := batchOf(t, CreateTask{Task: newTestTask("inner", at(1))})
	b := batchOf(t, inner, CreateTask{Task: newTestTask("outer", at(2))})

	results := apply(t, f, b).(BatchResults)

	if err, ok := results[0].(error); !ok || !errors.Is(err, ErrInvalidCommand) {
		t.Errorf("nested batch: expected an error wrapping ErrInvalidCommand, got %s", show(results[0]))
	}
	if _, ok := f.Task("inner"); ok {
		t.Error("task inner: expected it not to exist, but the nested batch created it")
	}
	if _, ok := f.Task("outer"); !ok {
		t.Error("task outer: expected the entry after the nested batch to be applied")
	}
}

func TestBatch_DamagedPayloadChangesNothing(t *testing.T) {
	whole := encode(t, batchOf(t, CreateTask{Task: newTestTask("t1", at(1))}))
	cases := map[string][]byte{
		"empty":           {byte(CommandBatch), CommandVersion},
		"truncated entry": whole[:len(whole)-3],
		"length overflow": {byte(CommandBatch), CommandVersion, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"huge length":     {byte(CommandBatch), CommandVersion, 0x80, 0x01, 'x'},
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			f := populated(t)
			before := captureState(f)

			res := applyData(f, data)

			if err, ok := res.(error); !ok || !errors.Is(err, ErrInvalidCommand) {
				t.Errorf("apply: expected an error wrapping ErrInvalidCommand, got %s", show(res))
			}
			after := captureState(f)
			after.AppliedIndex = before.AppliedIndex
			if !reflect.DeepEqual(before, after) {
				t.Errorf("damaged batch changed the state: %v", stateDiff(before, after))
			}
		})
	}
}
