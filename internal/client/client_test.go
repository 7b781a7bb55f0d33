package client

import (
	"bufio"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podling/podling/internal/types"
)

// closedURL returns the URL of a loopback port that nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// recorder is a fake master that records its requests and responds
// with its handler.
type recorder struct {
	server   *httptest.Server
	mu       sync.Mutex
	requests []*http.Request
	bodies   []string
}

func newRecorder(t *testing.T, handler http.HandlerFunc) *recorder {
	t.Helper()
	rec := &recorder{}
	rec.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.requests = append(rec.requests, r.Clone(context.Background()))
		rec.bodies = append(rec.bodies, string(body))
		rec.mu.Unlock()
		handler(w, r)
	}))
	t.Cleanup(rec.server.Close)
	return rec
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.requests)
}

func (r *recorder) request(i int) (*http.Request, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests[i], r.bodies[i]
}

func respondJSON(status int, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

const noLeader = `{"error":"no leader is known","code":"no_leader"}`

// waits records the pauses between rounds instead of sleeping, and
// disables jitter so they can be compared.
type waits struct {
	mu  sync.Mutex
	got []time.Duration
}

func (w *waits) sleep(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	w.got = append(w.got, d)
	w.mu.Unlock()
	return ctx.Err()
}

func (w *waits) all() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.got...)
}

func newTestClient(t *testing.T, opts Options) (*Client, *waits) {
	t.Helper()
	c, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	w := &waits{}
	c.sleep = w.sleep
	c.jitter = func(d time.Duration) time.Duration { return d }
	return c, w
}

func TestFailover_ConnectionRefused(t *testing.T) {
	good := newRecorder(t, respondJSON(http.StatusOK, `[]`, IndexHeader, "12"))
	c, w := newTestClient(t, Options{Masters: []string{closedURL(t), good.server.URL}})

	_, meta, err := c.ListTasks(context.Background(), ListOptions{})
	if err != nil {
		t.Fatalf("ListTasks: %v", err)
	}
	if meta.Index != 12 {
		t.Errorf("meta.Index = %d, want 12", meta.Index)
	}
	if len(w.all()) != 0 {
		t.Errorf("waited %v before trying the second master, want no wait", w.all())
	}
	// The master that responded is now tried first.
	if _, _, err := c.ListTasks(context.Background(), ListOptions{}); err != nil {
		t.Fatalf("second ListTasks: %v", err)
	}
	if got := c.preferred.Load(); got != 1 {
		t.Errorf("preferred master = %d, want 1", got)
	}
}

func TestFailover_503NextMasterAtOnce(t *testing.T) {
	follower := newRecorder(t, respondJSON(http.StatusServiceUnavailable, noLeader, "Retry-After", "1"))
	leader := newRecorder(t, respondJSON(http.StatusOK, `[]`))
	c, w := newTestClient(t, Options{Masters: []string{follower.server.URL, leader.server.URL}})

	if _, _, err := c.ListPods(context.Background(), ListOptions{}); err != nil {
		t.Fatalf("ListPods: %v", err)
	}
	if follower.count() != 1 || leader.count() != 1 {
		t.Errorf("requests: follower %d, leader %d; want 1 and 1", follower.count(), leader.count())
	}
	if len(w.all()) != 0 {
		t.Errorf("waited %v, want no wait while another master was left to try", w.all())
	}
}

func TestRetry_HonoursRetryAfter(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	master := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n <= 2 {
			respondJSON(http.StatusServiceUnavailable, noLeader, "Retry-After", "2")(w, r)
			return
		}
		respondJSON(http.StatusOK, `[]`)(w, r)
	})
	c, w := newTestClient(t, Options{Masters: []string{master.server.URL}})

	if _, _, err := c.ListNodes(context.Background(), ReadOptions{}); err != nil {
		t.Fatalf("ListNodes: %v", err)
	}
	got := w.all()
	if len(got) != 2 || got[0] != 2*time.Second || got[1] != 2*time.Second {
		t.Errorf("waits = %v, want [2s 2s] from Retry-After", got)
	}
}

func TestRetry_BackoffGrowsAndIsCapped(t *testing.T) {
	c, _ := newTestClient(t, Options{})
	var got []time.Duration
	for round := range 7 {
		got = append(got, c.wait(round, nil))
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond,
		800 * time.Millisecond, 1600 * time.Millisecond, 2 * time.Second, 2 * time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("backoff = %v, want %v", got, want)
		}
	}
	if w := c.wait(0, &APIError{RetryAfter: time.Hour}); w != maxRetryAfter {
		t.Errorf("wait with Retry-After 1h = %s, want the cap %s", w, maxRetryAfter)
	}
	for range 100 {
		if j := equalJitter(time.Second); j < 500*time.Millisecond || j > time.Second {
			t.Fatalf("jitter of 1s = %s, want 0.5s to 1s", j)
		}
	}
}

func TestRetry_DeadlineReturnsLast503(t *testing.T) {
	master := newRecorder(t, respondJSON(http.StatusServiceUnavailable, noLeader, "Retry-After", "3600"))
	c, err := New(Options{Masters: []string{master.server.URL}, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, _, err = c.GetTask(context.Background(), "20250119123456-abc12345", ReadOptions{})
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("call took %s, want it to give up at once when the wait passes the deadline", elapsed)
	}
	apiErr, ok := AsAPIError(err)
	if !ok || apiErr.Status != http.StatusServiceUnavailable || apiErr.Code != "no_leader" || !IsUnavailable(err) {
		t.Fatalf("error = %v, want the 503 no_leader response", err)
	}
	if apiErr.RetryAfter != time.Hour {
		t.Errorf("RetryAfter = %s, want 1h", apiErr.RetryAfter)
	}
}

func TestNoRetryOn4xx(t *testing.T) {
	first := newRecorder(t, respondJSON(http.StatusNotFound, `{"error":"task 20250119123456-abc12345: not found","code":"not_found"}`))
	second := newRecorder(t, respondJSON(http.StatusOK, `{}`))
	c, w := newTestClient(t, Options{Masters: []string{first.server.URL, second.server.URL}})

	_, _, err := c.GetTask(context.Background(), "20250119123456-abc12345", ReadOptions{})
	if !IsNotFound(err) {
		t.Fatalf("error = %v, want not found", err)
	}
	apiErr, _ := AsAPIError(err)
	if apiErr.Status != 404 || apiErr.Code != "not_found" || apiErr.Message != "task 20250119123456-abc12345: not found" || apiErr.Master != first.server.URL {
		t.Errorf("APIError = %+v", apiErr)
	}
	if got, want := err.Error(), "task 20250119123456-abc12345: not found (not_found)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if second.count() != 0 || len(w.all()) != 0 {
		t.Errorf("a 404 was retried: second master got %d requests, waits %v", second.count(), w.all())
	}
}

func TestAPIError_KeepsStatusCodeMessage(t *testing.T) {
	cases := []struct {
		status int
		body   string
		check  func(error) bool
		text   string
	}{
		{400, `{"error":"image: is required","code":"invalid_argument"}`, IsInvalid, "image: is required (invalid_argument)"},
		{401, `{"error":"token expired","code":"unauthenticated"}`, IsUnauthenticated, "token expired (unauthenticated)"},
		{403, `{"error":"role viewer may not POST /api/v1/tasks","code":"forbidden"}`, IsForbidden, "role viewer may not POST /api/v1/tasks (forbidden)"},
		{409, `{"error":"pod web exists","code":"already_exists"}`, IsAlreadyExists, "pod web exists (already_exists)"},
		{409, `{"error":"pending to completed","code":"illegal_transition"}`, IsConflict, "pending to completed (illegal_transition)"},
		{502, `<html>bad gateway</html>`, func(err error) bool { return !IsUnavailable(err) }, "<html>bad gateway</html> (HTTP 502)"},
		{500, ``, func(error) bool { return true }, "Internal Server Error (HTTP 500)"},
	}
	for _, tc := range cases {
		master := newRecorder(t, respondJSON(tc.status, tc.body))
		c, _ := newTestClient(t, Options{Masters: []string{master.server.URL}})
		_, _, err := c.CreateTask(context.Background(), types.CreateTaskRequest{Name: "x"})
		if apiErr, ok := AsAPIError(err); !ok || apiErr.Status != tc.status {
			t.Errorf("status %d: error = %v, want an APIError with that status", tc.status, err)
			continue
		}
		if !tc.check(err) || err.Error() != tc.text {
			t.Errorf("status %d: error %q, want %q", tc.status, err.Error(), tc.text)
		}
		if master.count() != 1 {
			t.Errorf("status %d: sent %d times, want once", tc.status, master.count())
		}
	}
}

func TestUnreachable_AllMastersDown(t *testing.T) {
	a, b := closedURL(t), closedURL(t)
	c, err := New(Options{Masters: []string{a, b}, Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.ListServices(context.Background(), ListOptions{})
	if !errors.Is(err, ErrUnreachable) || !IsUnreachable(err) {
		t.Fatalf("error = %v, want ErrUnreachable", err)
	}
	if _, ok := AsAPIError(err); ok {
		t.Error("an unreachable cluster gave an APIError")
	}
	for _, u := range []string{a, b} {
		if !strings.Contains(err.Error(), u) {
			t.Errorf("error %q does not name %s", err, u)
		}
	}
}

func TestUnreachable_DeadlineDuringTry(t *testing.T) {
	hanging := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(hanging.Close)
	c, err := New(Options{Masters: []string{hanging.URL}, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.ListTasks(context.Background(), ListOptions{})
	if !IsUnreachable(err) {
		t.Fatalf("error = %v, want ErrUnreachable", err)
	}
	if errors.Is(err, context.Canceled) {
		t.Errorf("error %v reads as a cancellation by the caller", err)
	}
	if !strings.Contains(err.Error(), hanging.URL+": no response before the call timed out") {
		t.Errorf("error = %v", err)
	}
}

func TestCancelDuringBackoffEndsCall(t *testing.T) {
	c, err := New(Options{Masters: []string{closedURL(t)}, Timeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.sleep = func(ctx context.Context, d time.Duration) error {
		cancel()
		return sleepContext(ctx, d)
	}
	_, _, err = c.ListTasks(ctx, ListOptions{})
	if !errors.Is(err, context.Canceled) || IsUnreachable(err) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
}

func TestIdempotencyKey_SameOnRetries(t *testing.T) {
	// The first master takes the request and drops the connection, as a
	// master that crashed mid-write would. The second responds 503, and
	// the third creates the task.
	dropping := newRecorder(t, func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	busy := newRecorder(t, respondJSON(http.StatusServiceUnavailable, `{"error":"leadership lost","code":"outcome_unknown"}`))
	leader := newRecorder(t, respondJSON(http.StatusCreated, `{"taskId":"20250119123456-abc12345","name":"x"}`))
	c, _ := newTestClient(t, Options{Masters: []string{dropping.server.URL, busy.server.URL, leader.server.URL}})

	task, _, err := c.CreateTask(context.Background(), types.CreateTaskRequest{Name: "x", Image: "img"})
	if err != nil || task.TaskID != "20250119123456-abc12345" {
		t.Fatalf("CreateTask = %+v, %v", task, err)
	}
	var keys []string
	for _, rec := range []*recorder{dropping, busy, leader} {
		req, body := rec.request(0)
		keys = append(keys, req.Header.Get("Idempotency-Key"))
		if body != `{"name":"x","image":"img"}` {
			t.Errorf("body sent = %s", body)
		}
	}
	if keys[0] == "" || keys[0] != keys[1] || keys[1] != keys[2] {
		t.Errorf("Idempotency-Key per try = %q, want one key on every try", keys)
	}

	if _, _, err := c.CreateTask(context.Background(), types.CreateTaskRequest{Name: "y", Image: "img"}); err != nil {
		t.Fatal(err)
	}
	req, _ := leader.request(1)
	if req.Header.Get("Idempotency-Key") == keys[0] {
		t.Error("a second create reused the first create's key")
	}
}

func TestUnsafeCall_OutcomeUnknownNotRetried(t *testing.T) {
	busy := newRecorder(t, respondJSON(http.StatusServiceUnavailable, `{"error":"leadership lost","code":"outcome_unknown"}`))
	other := newRecorder(t, respondJSON(http.StatusOK, `{}`))
	c, _ := newTestClient(t, Options{Masters: []string{busy.server.URL, other.server.URL}})

	_, _, err := c.DeletePod(context.Background(), "20250119123456-abc12345")
	if apiErr, ok := AsAPIError(err); !ok || apiErr.Code != "outcome_unknown" {
		t.Fatalf("error = %v, want the outcome_unknown response", err)
	}
	if other.count() != 0 {
		t.Error("a delete whose outcome is unknown was sent again")
	}
}

func TestUnsafeCall_BrokenConnectionNotRetried(t *testing.T) {
	dropping := newRecorder(t, func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	other := newRecorder(t, respondJSON(http.StatusOK, `{}`))
	c, _ := newTestClient(t, Options{Masters: []string{dropping.server.URL, other.server.URL}})

	_, _, err := c.TransferLeadership(context.Background(), "m2")
	if !errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("error = %v, want ErrOutcomeUnknown", err)
	}
	if other.count() != 0 {
		t.Error("a transfer whose outcome is unknown was sent again")
	}
}

func TestToken_SentAsBearer(t *testing.T) {
	master := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer secret-token" {
			respondJSON(http.StatusUnauthorized, `{"error":"missing token","code":"unauthenticated"}`)(w, r)
			return
		}
		respondJSON(http.StatusOK, `[]`)(w, r)
	})
	c, _ := newTestClient(t, Options{Masters: []string{master.server.URL}, Token: "secret-token"})
	if _, _, err := c.ListTasks(context.Background(), ListOptions{}); err != nil {
		t.Fatalf("with token: %v", err)
	}
	anonymous, _ := newTestClient(t, Options{Masters: []string{master.server.URL}})
	if _, _, err := anonymous.ListTasks(context.Background(), ListOptions{}); !IsUnauthenticated(err) {
		t.Fatalf("without token: %v, want unauthenticated", err)
	}
}

func TestCAFile_TrustsItsCertificate(t *testing.T) {
	server := httptest.NewTLSServer(respondJSON(http.StatusOK, `{"status":"ok","id":"m1"}`))
	t.Cleanup(server.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: server.Certificate().Raw})
	if err := os.WriteFile(caFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}

	trusting, _ := newTestClient(t, Options{Masters: []string{server.URL}, CAFile: caFile})
	if h, err := trusting.Health(context.Background()); err != nil || h.ID != "m1" {
		t.Fatalf("Health with CA file = %+v, %v", h, err)
	}

	plain, err := New(Options{Masters: []string{server.URL}, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = plain.Health(context.Background())
	if !IsUnreachable(err) || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("Health without CA file: %v, want an unreachable error about the certificate", err)
	}
}

func TestCAFile_Errors(t *testing.T) {
	if _, err := New(Options{CAFile: filepath.Join(t.TempDir(), "missing.pem")}); err == nil {
		t.Error("a missing CA file was accepted")
	}
	bad := filepath.Join(t.TempDir(), "bad.pem")
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{CAFile: bad}); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("CA file without certificates: %v", err)
	}
}

func TestMasters_Normalized(t *testing.T) {
	c, err := New(Options{Masters: []string{" 127.0.0.1:8070 ", "", "https://m2.example:8443/"}})
	if err != nil {
		t.Fatal(err)
	}
	got := c.Masters()
	if len(got) != 2 || got[0] != "http://127.0.0.1:8070" || got[1] != "https://m2.example:8443" {
		t.Errorf("Masters() = %q", got)
	}
	if c, _ := New(Options{}); c.Masters()[0] != DefaultMaster {
		t.Errorf("default master = %q", c.Masters())
	}
	if _, err := New(Options{Masters: []string{"ftp://host:21"}}); err == nil {
		t.Error("an ftp URL was accepted")
	}
}

func TestQuery_FiltersAndConsistency(t *testing.T) {
	master := newRecorder(t, respondJSON(http.StatusOK, `[]`, IndexHeader, "40", ServedByHeader, "m2", LeaderHeader, "m1", LastContactHeader, "35ms"))
	c, _ := newTestClient(t, Options{Masters: []string{master.server.URL}})
	ctx := context.Background()

	_, meta, err := c.ListTasks(ctx, ListOptions{
		Namespace: "prod", LabelSelector: map[string]string{"tier": "web", "app": "shop"},
		Status: "running", NodeID: "w1", ReadOptions: ReadOptions{MinIndex: 41},
	})
	if err != nil {
		t.Fatal(err)
	}
	if meta != (Meta{Index: 40, ServedBy: "m2", Leader: "m1", LastContact: "35ms"}) {
		t.Errorf("meta = %+v", meta)
	}
	if _, _, err := c.ListNodes(ctx, ReadOptions{Stale: true}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.ListServices(ctx, ListOptions{Status: "ignored", NodeID: "ignored"}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"labelSelector=app%3Dshop%2Ctier%3Dweb&minIndex=41&namespace=prod&nodeId=w1&status=running",
		"stale=true",
		"",
	}
	for i, w := range want {
		req, _ := master.request(i)
		if req.URL.RawQuery != w {
			t.Errorf("query %d = %q, want %q", i, req.URL.RawQuery, w)
		}
	}
}

func TestPaths_EveryCall(t *testing.T) {
	master := newRecorder(t, respondJSON(http.StatusOK, `{}`))
	c, _ := newTestClient(t, Options{Masters: []string{master.server.URL}})
	ctx := context.Background()
	const id = "20250119123456-abc12345"
	calls := []struct {
		want string
		run  func() error
	}{
		{"POST /api/v1/pods", func() error { _, _, err := c.CreatePod(ctx, types.CreatePodRequest{Name: "p"}); return err }},
		{"GET /api/v1/pods/" + id, func() error { _, _, err := c.GetPod(ctx, id, ReadOptions{}); return err }},
		{"DELETE /api/v1/pods/" + id, func() error { _, _, err := c.DeletePod(ctx, id); return err }},
		{"POST /api/v1/services", func() error { _, _, err := c.CreateService(ctx, types.CreateServiceRequest{Name: "s"}); return err }},
		{"GET /api/v1/services/" + id, func() error { _, _, err := c.GetService(ctx, id, ReadOptions{}); return err }},
		{"DELETE /api/v1/services/" + id, func() error { _, _, err := c.DeleteService(ctx, id); return err }},
		{"GET /api/v1/services/" + id + "/endpoints", func() error { _, _, err := c.ServiceEndpoints(ctx, id, ReadOptions{}); return err }},
		{"PUT /api/v1/tasks/" + id + "/status", func() error {
			_, _, err := c.UpdateTaskStatus(ctx, id, types.TaskStatusUpdate{Status: types.TaskRunning})
			return err
		}},
		{"POST /api/v1/nodes/w1/drain", func() error { _, _, err := c.DrainNode(ctx, "w1"); return err }},
		{"POST /api/v1/nodes/w1/uncordon", func() error { _, _, err := c.UncordonNode(ctx, "w1"); return err }},
		{"GET /api/v1/cluster", func() error { _, _, err := c.Cluster(ctx); return err }},
		{"POST /api/v1/cluster/join", func() error {
			_, _, err := c.JoinCluster(ctx, JoinRequest{ID: "m4", RaftAddress: "127.0.0.1:7003", APIAddress: "http://127.0.0.1:8073"})
			return err
		}},
		{"DELETE /api/v1/cluster/members/m3", func() error { _, _, err := c.RemoveMember(ctx, "m3"); return err }},
		{"POST /api/v1/cluster/leadership/transfer", func() error { _, _, err := c.TransferLeadership(ctx, ""); return err }},
		{"POST /api/v1/cluster/snapshot/restore", func() error {
			_, _, err := c.RestoreSnapshot(ctx, strings.NewReader(`{"version":1}`))
			return err
		}},
		{"GET /ready", func() error { _, err := c.Ready(ctx); return err }},
	}
	for i, call := range calls {
		if err := call.run(); err != nil {
			t.Errorf("%s: %v", call.want, err)
			continue
		}
		req, _ := master.request(i)
		if got := req.Method + " " + req.URL.Path; got != call.want {
			t.Errorf("call %d sent %s, want %s", i, got, call.want)
		}
	}
	_, body := master.request(13)
	if body != "" {
		t.Errorf("transfer without an ID sent body %q, want none", body)
	}
	_, body = master.request(14)
	if body != `{"version":1}` {
		t.Errorf("restore sent %q", body)
	}
}

func TestRestore_ResendsBackup(t *testing.T) {
	busy := newRecorder(t, respondJSON(http.StatusServiceUnavailable, noLeader))
	leader := newRecorder(t, respondJSON(http.StatusOK, `{"restored":true,"bytes":13}`))
	c, _ := newTestClient(t, Options{Masters: []string{busy.server.URL, leader.server.URL}})

	result, _, err := c.RestoreSnapshot(context.Background(), strings.NewReader(`{"version":1}`))
	if err != nil || !result.Restored || result.Bytes != 13 {
		t.Fatalf("RestoreSnapshot = %+v, %v", result, err)
	}
	for _, rec := range []*recorder{busy, leader} {
		if _, body := rec.request(0); body != `{"version":1}` {
			t.Errorf("body = %q", body)
		}
	}
}

func TestGetNode_FromTheList(t *testing.T) {
	master := newRecorder(t, respondJSON(http.StatusOK, `[{"nodeId":"w1","status":"online"},{"nodeId":"w2","status":"offline"}]`))
	c, _ := newTestClient(t, Options{Masters: []string{master.server.URL}})
	node, _, err := c.GetNode(context.Background(), "w2", ReadOptions{})
	if err != nil || node.Status != types.NodeOffline {
		t.Fatalf("GetNode(w2) = %+v, %v", node, err)
	}
	_, _, err = c.GetNode(context.Background(), "w9", ReadOptions{})
	if !IsNotFound(err) || err.Error() != "node w9: not found (not_found)" {
		t.Fatalf("GetNode(w9) error = %v", err)
	}
}

func TestLogs_StreamOutlivesTimeout(t *testing.T) {
	release := make(chan struct{})
	master := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("follow") != "true" || r.URL.Query().Get("tail") != "5" {
			respondJSON(http.StatusBadRequest, `{"error":"bad query","code":"invalid_argument"}`)(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintln(w, "first line")
		w.(http.Flusher).Flush()
		<-release
		fmt.Fprintln(w, "second line")
	})
	const timeout = 100 * time.Millisecond
	c, _ := newTestClient(t, Options{Masters: []string{master.server.URL}, Timeout: timeout, AttemptTimeout: timeout})

	stream, err := c.TaskLogs(context.Background(), "20250119123456-abc12345", LogOptions{Tail: 5, Follow: true, Container: "ignored"})
	if err != nil {
		t.Fatalf("TaskLogs: %v", err)
	}
	defer stream.Close()
	lines := bufio.NewScanner(stream)
	if !lines.Scan() || lines.Text() != "first line" {
		t.Fatalf("first line = %q, %v", lines.Text(), lines.Err())
	}
	// Outlast both timeouts, which bound the wait for the headers only.
	<-time.After(3 * timeout)
	close(release)
	if !lines.Scan() || lines.Text() != "second line" {
		t.Fatalf("second line = %q, %v", lines.Text(), lines.Err())
	}
	req, _ := master.request(0)
	if req.URL.Query().Has("container") {
		t.Error("task logs sent a container parameter")
	}
}

func TestPodLogs_Query(t *testing.T) {
	master := newRecorder(t, func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hello\n") })
	c, _ := newTestClient(t, Options{Masters: []string{master.server.URL}})
	stream, err := c.PodLogs(context.Background(), "20250119123456-abc12345", LogOptions{Container: "web"})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(stream)
	stream.Close()
	req, _ := master.request(0)
	if string(data) != "hello\n" || req.URL.RawQuery != "container=web" {
		t.Errorf("logs %q with query %q", data, req.URL.RawQuery)
	}
}

func TestSaveSnapshot_Streams(t *testing.T) {
	master := newRecorder(t, respondJSON(http.StatusOK, `{"version":1,"tasks":[]}`))
	c, _ := newTestClient(t, Options{Masters: []string{master.server.URL}})
	backup, err := c.SaveSnapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer backup.Close()
	data, err := io.ReadAll(backup)
	if err != nil || string(data) != `{"version":1,"tasks":[]}` {
		t.Errorf("snapshot = %q, %v", data, err)
	}
}

func TestDecodeError_Reported(t *testing.T) {
	master := newRecorder(t, respondJSON(http.StatusOK, `not json`))
	c, _ := newTestClient(t, Options{Masters: []string{master.server.URL}})
	if _, _, err := c.ListTasks(context.Background(), ListOptions{}); err == nil || !strings.Contains(err.Error(), "decode") {
		t.Errorf("error = %v, want a decode error", err)
	}
}

// roundTrip encodes v and decodes it into a value of type T, refusing
// unknown fields.
func roundTrip[T any](t *testing.T, v any) T {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	var out T
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	back, _ := json.Marshal(out)
	if string(back) != string(data) {
		t.Fatalf("round trip changed\n %s\nto %s", data, back)
	}
	return out
}
