package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/podling/podling/internal/auth"
)

var authSecret = []byte(strings.Repeat("k", 32))

func authOptions(t *testing.T) (masterOptions, *auth.Keys) {
	t.Helper()
	keys, err := auth.NewKeys(authSecret)
	if err != nil {
		t.Fatal(err)
	}
	return masterOptions{verifier: auth.NewVerifier(keys, "")}, keys
}

func bearer(t *testing.T, keys *auth.Keys, role auth.Role) string {
	t.Helper()
	token, err := keys.Sign(role, "test", "", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return "Bearer " + token
}

// writes lists one call per write endpoint, with a body that would pass
// validation.
var writes = []struct{ method, path, body string }{
	{http.MethodPost, "/api/v1/tasks", `{"name":"t","image":"img"}`},
	{http.MethodPut, "/api/v1/tasks/20250119123456-abc12345/status", `{"status":"running"}`},
	{http.MethodPost, "/api/v1/pods", `{"name":"p","containers":[{"name":"c","image":"img"}]}`},
	{http.MethodDelete, "/api/v1/pods/20250119123456-abc12345", ""},
	{http.MethodPost, "/api/v1/services", `{"name":"s","selector":{"a":"b"},"ports":[{"port":80,"targetPort":80}]}`},
	{http.MethodDelete, "/api/v1/services/20250119123456-abc12345", ""},
	{http.MethodPost, "/api/v1/nodes/register", `{"hostname":"w","port":1,"capacity":1}`},
	{http.MethodPost, "/api/v1/nodes/w/drain", ""},
	{http.MethodPost, "/api/v1/cluster/leadership/transfer", ""},
}

func TestAuth_ViewerCannotWrite(t *testing.T) {
	opts, keys := authOptions(t)
	leader := newLeader(t, opts)
	follower := newFollower(t, "http://127.0.0.1:1", opts)
	token := bearer(t, keys, auth.RoleViewer)
	for _, m := range []*master{leader, follower} {
		for _, w := range writes {
			before := takeSnapshot(leader.fsm)
			rec := do(t, m.server, w.method, w.path, w.body, "Authorization", token)
			wantError(t, rec, http.StatusForbidden, "forbidden", "viewer")
			wantUnchanged(t, leader.fsm, before)
		}
	}
}

func TestAuth_WorkerCannotCreateOrDelete(t *testing.T) {
	opts, keys := authOptions(t)
	m := newLeader(t, opts)
	token := bearer(t, keys, auth.RoleWorker)
	for _, w := range []int{0, 2, 3} {
		rec := do(t, m.server, writes[w].method, writes[w].path, writes[w].body, "Authorization", token)
		wantError(t, rec, http.StatusForbidden, "forbidden", "worker")
	}
	rec := do(t, m.server, http.MethodPost, "/api/v1/nodes/register", `{"hostname":"w","port":1,"capacity":1}`, "Authorization", token)
	wantStatus(t, rec, http.StatusOK)
}

func TestAuth_MissingOrBadTokenIs401(t *testing.T) {
	opts, keys := authOptions(t)
	m := newLeader(t, opts)
	other, _ := auth.NewKeys([]byte(strings.Repeat("x", 32)))
	tests := map[string][]string{
		"missing":      nil,
		"not bearer":   {"Authorization", "Basic abc"},
		"wrong secret": {"Authorization", bearer(t, other, auth.RoleAdmin)},
		"garbage":      {"Authorization", "Bearer abc.def.ghi"},
	}
	for name, header := range tests {
		before := takeSnapshot(m.fsm)
		rec := do(t, m.server, http.MethodPost, "/api/v1/tasks", `{"name":"t","image":"img"}`, header...)
		wantError(t, rec, http.StatusUnauthorized, "unauthenticated")
		if rec.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", name)
		}
		wantUnchanged(t, m.fsm, before)
	}
	rec := do(t, m.server, http.MethodGet, "/api/v1/tasks?access_token=x", "", "Authorization", bearer(t, keys, auth.RoleAdmin))
	wantError(t, rec, http.StatusUnauthorized, "unauthenticated", "query string")
}

func TestAuth_HealthAndReadyArePublic(t *testing.T) {
	opts, _ := authOptions(t)
	m := newLeader(t, opts)
	rec := do(t, m.server, http.MethodGet, "/health", "")
	wantStatus(t, rec, http.StatusOK)
	if !strings.Contains(rec.Body.String(), `"authEnabled":true`) {
		t.Errorf("/health body %s does not report authentication on", rec.Body.String())
	}
	wantStatus(t, do(t, m.server, http.MethodGet, "/ready", ""), http.StatusOK)
}

func TestAuth_AdminCanWriteAndViewerRead(t *testing.T) {
	opts, keys := authOptions(t)
	m := newLeader(t, opts)
	wantStatus(t, do(t, m.server, http.MethodPost, "/api/v1/tasks", `{"name":"t","image":"img"}`, "Authorization", bearer(t, keys, auth.RoleAdmin)), http.StatusCreated)
	wantStatus(t, do(t, m.server, http.MethodGet, "/api/v1/tasks", "", "Authorization", bearer(t, keys, auth.RoleViewer)), http.StatusOK)
}
