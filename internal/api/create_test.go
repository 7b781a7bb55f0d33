package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/podling/podling/fsm"
	"github.com/podling/podling/internal/types"
)

func TestCreate_TakenIDIsReplaced(t *testing.T) {
	cases := map[string]struct{ path, body string }{
		"task":    {"/api/v1/tasks", `{"name":"web","image":"podling/echo:dev"}`},
		"pod":     {"/api/v1/pods", `{"name":"web","containers":[{"name":"app","image":"podling/echo:dev"}]}`},
		"service": {"/api/v1/services", `{"name":"web","selector":{"app":"web"},"ports":[{"port":80,"targetPort":8080}]}`},
	}
	for kind, c := range cases {
		t.Run(kind, func(t *testing.T) {
			m := newLeader(t, masterOptions{})
			takenErr := fmt.Errorf("%s 20250119123456-abcd1234: %w", kind, fsm.ErrIDTaken)
			m.raft.set(func(r *fakeRaft) { r.rejections = []error{takenErr} })

			rec := do(t, m.server, http.MethodPost, c.path, c.body)

			wantStatus(t, rec, http.StatusCreated)
			if got := m.raft.proposalCount(); got != 2 {
				t.Errorf("proposals: expected 2 (the taken ID, then a new one), got %d", got)
			}
		})
	}
}

func TestCreate_IDTakenEveryTimeIsConflict(t *testing.T) {
	m := newLeader(t, masterOptions{})
	takenErr := fmt.Errorf("task 20250119123456-abcd1234: %w", fsm.ErrIDTaken)
	m.raft.set(func(r *fakeRaft) { r.rejections = []error{takenErr, takenErr, takenErr, takenErr} })

	rec := do(t, m.server, http.MethodPost, "/api/v1/tasks", `{"name":"web","image":"podling/echo:dev"}`)

	wantStatus(t, rec, http.StatusConflict)
	if got := m.raft.proposalCount(); got != 3 {
		t.Errorf("proposals: expected 3 attempts, got %d", got)
	}
	if body := decodeBody[types.Error](t, rec); body.Code == "" {
		t.Errorf("error body: expected a code, got %+v", body)
	}
}
