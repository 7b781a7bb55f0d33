package api_test

import (
	"net/http"
	"testing"
)

func TestMethodNotAllowed_ListsAllowedMethods(t *testing.T) {
	m := newLeader(t, masterOptions{})
	tests := []struct {
		method, path, allow string
	}{
		{http.MethodDelete, "/api/v1/tasks", "GET, POST"},
		{http.MethodPost, "/api/v1/pods/20250119123456-abc12345", "GET, DELETE"},
		{http.MethodPost, "/health", "GET, HEAD"},
	}
	for _, tt := range tests {
		rec := do(t, m.server, tt.method, tt.path, "")
		wantError(t, rec, http.StatusMethodNotAllowed, "method_not_allowed")
		if got := rec.Header().Get("Allow"); got != tt.allow {
			t.Errorf("%s %s: Allow = %q, want %q", tt.method, tt.path, got, tt.allow)
		}
	}
}

func TestHealth_AnswersHead(t *testing.T) {
	m := newLeader(t, masterOptions{})
	rec := do(t, m.server, http.MethodHead, "/health", "")
	if rec.Code != http.StatusOK {
		t.Errorf("HEAD /health: status %d, want 200", rec.Code)
	}
}

func TestDotSegmentsInPath_JSONError(t *testing.T) {
	m := newLeader(t, masterOptions{})
	rec := do(t, m.server, http.MethodGet, "/api/v1/tasks/..%2F..%2Fetc", "")
	if rec.Code/100 != 4 {
		t.Fatalf("status %d, want a 4xx", rec.Code)
	}
	if got := rec.Header().Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
}
