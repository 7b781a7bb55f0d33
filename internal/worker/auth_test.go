package worker

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/podling/podling/internal/auth"
	"github.com/podling/podling/internal/runtime/fake"
)

func TestAPI_AuthenticationOn(t *testing.T) {
	keys, err := auth.NewKeys([]byte(strings.Repeat("w", 32)))
	if err != nil {
		t.Fatal(err)
	}
	master := newStubMaster(t)
	cfg := testConfig(t, fake.New(testNodeID), master.URL())
	cfg.Verifier = auth.NewVerifier(keys, "")
	tw := startWorkerWith(t, cfg)
	admin, _ := keys.Sign(auth.RoleAdmin, "master/m1", "", time.Hour, time.Now())
	viewer, _ := keys.Sign(auth.RoleViewer, "dev", "", time.Hour, time.Now())

	tests := []struct {
		name, path, token string
		want              int
	}{
		{"health needs no token", "/health", "", http.StatusOK},
		{"no token", "/api/v1/tasks/20250119123456-abc12345/status", "", http.StatusUnauthorized},
		{"garbage token", "/api/v1/tasks/20250119123456-abc12345/status", "abc", http.StatusUnauthorized},
		{"viewer token", "/api/v1/tasks/20250119123456-abc12345/status", viewer, http.StatusForbidden},
		{"admin token", "/api/v1/tasks/20250119123456-abc12345/status", admin, http.StatusNotFound},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(http.MethodGet, tw.url+tt.path, nil)
		if tt.token != "" {
			req.Header.Set("Authorization", "Bearer "+tt.token)
		}
		resp, err := tw.client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s: status %d, want %d; body %s", tt.name, resp.StatusCode, tt.want, body)
		}
	}
}
