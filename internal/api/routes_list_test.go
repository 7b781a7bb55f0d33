package api_test

import "testing"

func TestRoutes_ListsServedRoutes(t *testing.T) {
	m := newLeader(t, masterOptions{})
	found := map[string]bool{}
	for _, r := range m.server.Routes() {
		found[r.Method+" "+r.Path] = true
	}
	for _, want := range []string{"GET /health", "POST /api/v1/tasks", "GET /api/v1/tasks/{taskId}", "DELETE /api/v1/pods/{podId}"} {
		if !found[want] {
			t.Errorf("Routes lacks %s", want)
		}
	}
}
