package api_test

import (
	"net/http"
	"testing"

	"github.com/podling/podling/fsm"
	"github.com/podling/podling/internal/types"
)

func TestCreateTask_IdempotencyKeyRetryReturnsOriginal(t *testing.T) {
	m := newLeader(t, masterOptions{})
	body := `{"name":"once","image":"podling/echo:dev"}`

	first := do(t, m.server, http.MethodPost, "/api/v1/tasks", body, "Idempotency-Key", "abc-1")
	wantStatus(t, first, http.StatusCreated)
	retry := do(t, m.server, http.MethodPost, "/api/v1/tasks", body, "Idempotency-Key", "abc-1")
	wantStatus(t, retry, http.StatusOK)

	if a, b := decodeBody[types.Task](t, first).TaskID, decodeBody[types.Task](t, retry).TaskID; a != b {
		t.Errorf("retry returned task %s, want the original %s", b, a)
	}
	if n := len(m.fsm.Tasks(fsm.TaskFilter{})); n != 1 {
		t.Errorf("tasks after a retried create: %d, want 1", n)
	}
}

func TestCreateTask_IdempotencyKeyReusedIs422(t *testing.T) {
	m := newLeader(t, masterOptions{})
	do(t, m.server, http.MethodPost, "/api/v1/tasks", `{"name":"one","image":"img"}`, "Idempotency-Key", "k")

	rec := do(t, m.server, http.MethodPost, "/api/v1/tasks", `{"name":"two","image":"img"}`, "Idempotency-Key", "k")

	wantError(t, rec, http.StatusUnprocessableEntity, "idempotency_key_reused")
}

func TestCreateTask_BadIdempotencyKeyIs400(t *testing.T) {
	m := newLeader(t, masterOptions{})
	before := takeSnapshot(m.fsm)

	rec := do(t, m.server, http.MethodPost, "/api/v1/tasks", `{"name":"one","image":"img"}`, "Idempotency-Key", "has space")

	wantError(t, rec, http.StatusBadRequest, "invalid_argument", "Idempotency-Key")
	wantUnchanged(t, m.fsm, before)
}

func TestCreatePod_IdempotencyKeyRetryReturnsOriginal(t *testing.T) {
	m := newLeader(t, masterOptions{})
	body := `{"name":"web","containers":[{"name":"app","image":"img"}]}`

	first := do(t, m.server, http.MethodPost, "/api/v1/pods", body, "Idempotency-Key", "p1")
	wantStatus(t, first, http.StatusCreated)
	retry := do(t, m.server, http.MethodPost, "/api/v1/pods", body, "Idempotency-Key", "p1")
	wantStatus(t, retry, http.StatusOK)
	if a, b := decodeBody[types.Pod](t, first).PodID, decodeBody[types.Pod](t, retry).PodID; a != b {
		t.Errorf("retry returned pod %s, want the original %s", b, a)
	}
}
