package api_test

import (
	"net/http"
	"testing"
)

func TestDecode_DuplicateAndMiscasedKeysAre400(t *testing.T) {
	tests := []struct {
		name, path, body, field string
	}{
		{"duplicate top-level key", "/api/v1/tasks", `{"name":"a","name":"b","image":"img"}`, "name: is given twice"},
		{"miscased key", "/api/v1/tasks", `{"Name":"a","image":"img"}`, "Name"},
		{"duplicate env key", "/api/v1/tasks", `{"name":"a","image":"img","env":{"A":"1","A":"2"}}`, "env.A"},
		{"miscased nested key", "/api/v1/pods", `{"name":"p","containers":[{"name":"c","Image":"img"}]}`, "containers[0].Image"},
		{"duplicate nested key", "/api/v1/pods", `{"name":"p","containers":[{"name":"c","image":"a","image":"b"}]}`, "containers[0].image"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newLeader(t, masterOptions{})
			before := takeSnapshot(m.fsm)

			rec := do(t, m.server, http.MethodPost, tt.path, tt.body)

			wantError(t, rec, http.StatusBadRequest, "invalid_argument", tt.field)
			wantUnchanged(t, m.fsm, before)
		})
	}
}
