package api_test

import (
	"net/http"
	"testing"
)

func TestSetMasterAddress_Recorded(t *testing.T) {
	m := newLeader(t, masterOptions{})

	rec := do(t, m.server, http.MethodPut, "/internal/v1/masters/m2", `{"apiAddress":"http://10.0.0.2:8070"}`)

	wantStatus(t, rec, http.StatusOK)
	if addr, ok := m.fsm.MasterAddress("m2"); !ok || addr != "http://10.0.0.2:8070" {
		t.Errorf("address of m2 = %q (found %v), want http://10.0.0.2:8070", addr, ok)
	}
}

func TestSetMasterAddress_BadInputIs400(t *testing.T) {
	tests := []struct {
		name, path, body, field string
	}{
		{"bad server ID", "/internal/v1/masters/-m2", `{"apiAddress":"http://a:1"}`, "serverId"},
		{"no scheme", "/internal/v1/masters/m2", `{"apiAddress":"a:1"}`, "apiAddress"},
		{"other scheme", "/internal/v1/masters/m2", `{"apiAddress":"ftp://a:1"}`, "apiAddress"},
		{"with a path", "/internal/v1/masters/m2", `{"apiAddress":"http://a:1/x"}`, "apiAddress"},
		{"empty", "/internal/v1/masters/m2", `{"apiAddress":""}`, "apiAddress"},
		{"unknown field", "/internal/v1/masters/m2", `{"apiAddress":"http://a:1","x":1}`, "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newLeader(t, masterOptions{})
			before := takeSnapshot(m.fsm)

			rec := do(t, m.server, http.MethodPut, tt.path, tt.body)

			wantError(t, rec, http.StatusBadRequest, "invalid_argument", tt.field)
			wantUnchanged(t, m.fsm, before)
		})
	}
}
