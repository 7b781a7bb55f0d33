package cli

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podling/podling/internal/auth"
	"github.com/podling/podling/internal/types"
)

// closedMaster returns the URL of a loopback port nothing listens on.
func closedMaster(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func TestExitCode_Unreachable(t *testing.T) {
	res := runCLI(t, "--masters", closedMaster(t), "--timeout", "300ms", "ps").wantCode(t, ExitUnreachable)
	if !strings.HasPrefix(res.stderr, "podling: no master reachable: ") || !strings.Contains(res.stderr, "connection refused") {
		t.Errorf("stderr = %q", res.stderr)
	}
}

func TestExitCode_Usage(t *testing.T) {
	cases := [][]string{
		{"bogus"},
		{"ps", "--no-such-flag"},
		{"ps", "extra"},
		{"run", "x"}, // no --image
		{"run", "x", "--image", "i", "-e", "NOEQUALS"},
		{"cluster"},
		{"cluster", "bogus"},
		{"get", "task"},
		{"ps", "-o", "xml"},
		{"ps", "--timeout", "soon"},
		{"ps", "--masters", "ftp://host:21"},
		{"token", "create", "--role", "admin"},
	}
	for _, args := range cases {
		res := runCLI(t, args...)
		if res.code != ExitUsage {
			t.Errorf("%q: exit code %d, want %d; stderr %q", args, res.code, ExitUsage, res.stderr)
		}
		if !strings.HasPrefix(res.stderr, "podling: ") || !strings.Contains(res.stderr, "--help' for usage") {
			t.Errorf("%q: stderr %q", args, res.stderr)
		}
	}
}

func TestExitCode_ServerRefused(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"error":"role viewer may not POST /api/v1/tasks","code":"forbidden"}`))
	}))
	defer server.Close()
	res := runCLI(t, "--masters", server.URL, "run", "x", "--image", "i").wantCode(t, ExitFailed)
	if res.stderr != "podling: role viewer may not POST /api/v1/tasks (forbidden)\n" {
		t.Errorf("stderr = %q", res.stderr)
	}
}

func TestGlobalFlags_FromEnvironment(t *testing.T) {
	var header atomic.Value
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header.Store(r.Header.Get("Authorization"))
		w.Write([]byte(`[]`))
	}))
	defer server.Close()
	env := map[string]string{"PODLING_MASTERS": server.URL, "PODLING_TOKEN": "from-env", "PODLING_OUTPUT": "json"}
	lookup := func(name string) (string, bool) { v, ok := env[name]; return v, ok }

	var out, errOut syncBuffer
	code := Run(context.Background(), []string{"nodes"}, Streams{Out: &out, Err: &errOut}, lookup)
	if code != 0 || strings.TrimSpace(out.String()) != "[]" || header.Load() != "Bearer from-env" {
		t.Errorf("code %d, stdout %q, Authorization %q, stderr %q", code, out.String(), header.Load(), errOut.String())
	}

	// A flag on the command line wins over the environment.
	out = syncBuffer{}
	code = Run(context.Background(), []string{"nodes", "--token", "from-flag", "-o", "table"}, Streams{Out: &out, Err: &errOut}, lookup)
	if code != 0 || header.Load() != "Bearer from-flag" || !strings.HasPrefix(out.String(), "ID") {
		t.Errorf("code %d, stdout %q, Authorization %q", code, out.String(), header.Load())
	}

	env["PODLING_TIMEOUT"] = "later"
	code = Run(context.Background(), []string{"nodes"}, Streams{Out: &out, Err: &errOut}, lookup)
	if code != ExitUsage || !strings.Contains(errOut.String(), "PODLING_TIMEOUT") {
		t.Errorf("bad PODLING_TIMEOUT: code %d, stderr %q", code, errOut.String())
	}
}

func TestTokenCreate_SignsLocally(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "jwt.secret")
	if err := os.WriteFile(secret, []byte(strings.Repeat("s", 40)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res := runCLI(t, "token", "create", "--role", "viewer", "--ttl", "1h", "--subject", "alice", "--jwt-secret-file", secret).wantCode(t, 0)
	keys, err := auth.LoadKeys(secret)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := auth.NewVerifier(keys, "").Verify(strings.TrimSpace(res.stdout))
	if err != nil || claims.Role != auth.RoleViewer || claims.Subject != "alice" {
		t.Fatalf("token %q verifies as %+v, %v", res.stdout, claims, err)
	}
	if left := time.Until(claims.ExpiresAt.Time); left < 59*time.Minute || left > time.Hour {
		t.Errorf("token expires in %s, want 1h", left)
	}
	runCLI(t, "token", "create", "--role", "root", "--jwt-secret-file", secret).wantCode(t, ExitFailed)
}

// fakeList is a master whose task list changes when the test closes
// changed, and which holds ?minIndex= reads until then, as a master does.
type fakeList struct {
	index   atomic.Uint64
	changed chan struct{}
	reads   atomic.Int64
}

func (f *fakeList) serve(w http.ResponseWriter, r *http.Request) {
	f.reads.Add(1)
	if r.URL.Query().Get("minIndex") != "" {
		select {
		case <-f.changed:
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("X-Podling-Index", "1")
	tasks := `[{"taskId":"20250119123456-aaaaaaaa","name":"first","status":"pending"}]`
	if f.index.Load() > 1 {
		w.Header().Set("X-Podling-Index", "2")
		tasks = `[{"taskId":"20250119123456-aaaaaaaa","name":"first","status":"running"}]`
	}
	w.Write([]byte(tasks))
}

func TestWatch_RerendersAndStops(t *testing.T) {
	fake := &fakeList{changed: make(chan struct{})}
	fake.index.Store(1)
	server := httptest.NewServer(http.HandlerFunc(fake.serve))
	defer server.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"--masters", server.URL, "ps", "-w"}, Streams{Out: &out, Err: &errOut}, noEnv)
	}()
	waitFor(t, 5*time.Second, "first render", func() bool { return strings.Contains(out.String(), "pending") })
	if fake.reads.Load() > 2 {
		t.Errorf("%d reads before any change, want the watch to wait", fake.reads.Load())
	}

	fake.index.Store(2)
	close(fake.changed)
	waitFor(t, 5*time.Second, "second render", func() bool { return strings.Contains(out.String(), "running") })
	if n := strings.Count(out.String(), "STATUS"); n != 2 {
		t.Errorf("%d tables printed, want 2:\n%s", n, out.String())
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 || errOut.String() != "" {
			t.Errorf("watch stopped with code %d, stderr %q", code, errOut.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("watch did not stop after cancel")
	}
}

func TestParsePort(t *testing.T) {
	cases := map[string]types.ServicePort{
		"80":           {Port: 80, TargetPort: 80},
		"80:8080":      {Port: 80, TargetPort: 8080},
		"http=80:8080": {Name: "http", Port: 80, TargetPort: 8080},
	}
	for spec, want := range cases {
		got, err := parsePort(spec)
		if err != nil || got != want {
			t.Errorf("parsePort(%q) = %+v, %v; want %+v", spec, got, err, want)
		}
	}
	for _, bad := range []string{"", "http", "0", "80:70000", "x=80:y"} {
		if _, err := parsePort(bad); err == nil {
			t.Errorf("parsePort(%q) accepted", bad)
		}
	}
}

func TestAge(t *testing.T) {
	now := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	cases := map[time.Duration]string{
		45 * time.Second: "45s", 17 * time.Minute: "17m", 5 * time.Hour: "5h", 72 * time.Hour: "3d", -time.Second: "0s",
	}
	for ago, want := range cases {
		if got := age(now.Add(-ago), now); got != want {
			t.Errorf("age %s ago = %q, want %q", ago, got, want)
		}
	}
	if age(time.Time{}, now) != "" {
		t.Error("age of the zero time is not empty")
	}
}

func TestByteSize(t *testing.T) {
	cases := map[int64]string{0: "0 B", 1023: "1023 B", 1536: "1.5 KiB", 5 << 20: "5.0 MiB"}
	for n, want := range cases {
		if got := byteSize(n); got != want {
			t.Errorf("byteSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestCompletion_Generates(t *testing.T) {
	res := runCLI(t, "completion", "bash").wantCode(t, 0)
	if !strings.Contains(res.stdout, "podling") {
		t.Errorf("completion script: %.200q", res.stdout)
	}
}
