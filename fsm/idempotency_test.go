package fsm

import (
	"errors"
	"testing"
	"time"

	"github.com/podling/podling/internal/types"
)

func keyedTask(id string, created time.Time, key, hash string) CreateTask {
	return CreateTask{Task: newTestTask(id, created), Idempotency: &Idempotency{Key: key, RequestHash: hash, Time: created}}
}

func TestIdempotency_RetryReturnsOriginal(t *testing.T) {
	f := New(nil)
	first := mustApply(t, f, keyedTask("t-1", at(10), "k", "h"))

	res := mustApply(t, f, keyedTask("t-2", at(20), "k", "h"))

	replayed, ok := res.(Replayed)
	if !ok {
		t.Fatalf("retry result: expected Replayed, got %T", res)
	}
	if got := replayed.Object.(types.Task).TaskID; got != first.(types.Task).TaskID {
		t.Errorf("replayed task: expected %s, got %s", first.(types.Task).TaskID, got)
	}
	if n := len(f.Tasks(TaskFilter{})); n != 1 {
		t.Errorf("tasks after a retried create: expected 1, got %d", n)
	}
}

func TestIdempotency_KeyWithOtherRequestRejected(t *testing.T) {
	f := New(nil)
	mustApply(t, f, keyedTask("t-1", at(10), "k", "h1"))

	res := apply(t, f, keyedTask("t-2", at(20), "k", "h2"))

	if err := resultError(res); !errors.Is(err, ErrIdempotencyMismatch) {
		t.Errorf("expected ErrIdempotencyMismatch, got %s", show(res))
	}
	if _, ok := f.Task("t-2"); ok {
		t.Error("expected no task created for a mismatched key, got t-2")
	}
}

func TestIdempotency_KeysAreScopedByKind(t *testing.T) {
	f := New(nil)
	mustApply(t, f, keyedTask("t-1", at(10), "k", "h"))
	pod := CreatePod{Pod: newTestPod("p-1", at(11)), Idempotency: &Idempotency{Key: "k", RequestHash: "other", Time: at(11)}}

	res := mustApply(t, f, pod)

	if _, ok := res.(types.Pod); !ok {
		t.Errorf("pod create with a key a task used: expected a new pod, got %s", show(res))
	}
}

func TestIdempotency_KeyExpiresAfterTTL(t *testing.T) {
	f := New(nil)
	mustApply(t, f, keyedTask("t-1", at(10), "k", "h"))
	later := at(10).Add(IdempotencyTTL + time.Second)

	res := mustApply(t, f, keyedTask("t-2", later, "k", "h"))

	if task, ok := res.(types.Task); !ok || task.TaskID != "t-2" {
		t.Errorf("create after the TTL: expected new task t-2, got %s", show(res))
	}
}

func TestIdempotency_SurvivesSnapshot(t *testing.T) {
	f := New(nil)
	mustApply(t, f, keyedTask("t-1", at(10), "k", "h"))
	restored := New(nil)
	if err := restored.Restore(newTrackedReader(persistSnapshot(t, f))); err != nil {
		t.Fatalf("restore: %v", err)
	}

	res := mustApply(t, restored, keyedTask("t-2", at(20), "k", "h"))

	if _, ok := res.(Replayed); !ok {
		t.Errorf("retry after restore: expected Replayed, got %s", show(res))
	}
}
