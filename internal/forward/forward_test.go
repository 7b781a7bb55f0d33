package forward_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/podling/podling/internal/forward"
)

const (
	selfID   = "master-2"
	leaderID = "master-1"
)

// fakeCluster implements forward.Cluster with a leader the test can change.
type fakeCluster struct {
	mu     sync.Mutex
	leader string
	// self makes IsLeader true.
	self bool
	// polled, when set, is closed on the next Leader call.
	polled chan struct{}
}

func (c *fakeCluster) ID() string { return selfID }
func (c *fakeCluster) IsLeader() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.self
}

func (c *fakeCluster) Leader() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.polled != nil {
		close(c.polled)
		c.polled = nil
	}
	return c.leader
}

func (c *fakeCluster) setLeader(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.leader = id
}

// addressBook implements forward.Addresses.
type addressBook map[string]string

func (a addressBook) MasterAddress(serverID string) (string, bool) {
	addr, ok := a[serverID]
	return addr, ok
}

// roundTripFunc lets a test stand in for the network.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func newForwarder(c forward.Cluster, addresses addressBook, client *http.Client, wait time.Duration) *forward.Forwarder {
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	return forward.New(c, addresses, client, wait, hclog.NewNullLogger())
}

func TestLeaderURL_ReturnsKnownLeader(t *testing.T) {
	c := &fakeCluster{leader: leaderID}
	f := newForwarder(c, addressBook{leaderID: "http://leader.example:8070"}, nil, time.Second)

	id, url, err := f.LeaderURL(context.Background())
	if err != nil {
		t.Fatalf("expected no error, got %v", err)
	}
	if id != leaderID {
		t.Errorf("expected leader ID %q, got %q", leaderID, id)
	}
	if url != "http://leader.example:8070" {
		t.Errorf("expected leader URL http://leader.example:8070, got %q", url)
	}
}

func TestLeaderURL_WaitsForLeader(t *testing.T) {
	polled := make(chan struct{})
	c := &fakeCluster{polled: polled}
	f := newForwarder(c, addressBook{leaderID: "http://leader.example:8070"}, nil, 10*time.Second)

	type result struct {
		id, url string
		err     error
	}
	done := make(chan result, 1)
	go func() {
		id, url, err := f.LeaderURL(context.Background())
		done <- result{id, url, err}
	}()

	select {
	case <-polled:
	case <-time.After(5 * time.Second):
		t.Fatal("timed out after 5s waiting for LeaderURL to ask for the leader")
	}
	select {
	case r := <-done:
		t.Fatalf("expected LeaderURL to wait while no leader is known, it returned %q, %q, %v", r.id, r.url, r.err)
	default:
	}
	c.setLeader(leaderID)

	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("expected no error once a leader is known, got %v", r.err)
		}
		if r.id != leaderID || r.url != "http://leader.example:8070" {
			t.Errorf("expected %s at http://leader.example:8070, got %q at %q", leaderID, r.id, r.url)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("timed out after 5s waiting for LeaderURL to see the new leader")
	}
}

func TestLeaderURL_NoLeaderIsErrNoLeader(t *testing.T) {
	const wait = 50 * time.Millisecond
	tests := []struct {
		name   string
		leader string
	}{
		{"no leader known", ""},
		{"leader is this master", selfID},
		{"leader address unknown", "master-9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &fakeCluster{leader: tt.leader}
			book := addressBook{leaderID: "http://leader.example:8070", selfID: "http://self.example:8070"}
			f := newForwarder(c, book, nil, wait)

			start := time.Now()
			id, url, err := f.LeaderURL(context.Background())
			elapsed := time.Since(start)

			if !errors.Is(err, forward.ErrNoLeader) {
				t.Fatalf("expected ErrNoLeader, got %q, %q, %v", id, url, err)
			}
			if elapsed < wait {
				t.Errorf("expected LeaderURL to wait the election wait of %v, it returned after %v", wait, elapsed)
			}
			if elapsed > wait+3*time.Second {
				t.Errorf("expected LeaderURL to give up soon after the election wait of %v, it took %v", wait, elapsed)
			}
		})
	}
}

func TestLeaderURL_CancelledContextStopsWaiting(t *testing.T) {
	c := &fakeCluster{}
	f := newForwarder(c, addressBook{}, nil, time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	start := time.Now()
	_, _, err := f.LeaderURL(ctx)
	if !errors.Is(err, forward.ErrNoLeader) {
		t.Errorf("expected ErrNoLeader, got %v", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("expected a cancelled request to stop waiting at once, it took %v", elapsed)
	}
}

func TestForward_CopiesRequestAndAnswer(t *testing.T) {
	var sent *http.Request
	var sentBody string
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		sent, sentBody = r, string(body)
		header := http.Header{
			"Content-Type":       {"application/json"},
			"X-Podling-Index":    {"17"},
			"X-Answer":           {"a", "b"},
			"Connection":         {"X-Answer-Hop"},
			"X-Answer-Hop":       {"1"},
			"Keep-Alive":         {"timeout=5"},
			"Proxy-Authenticate": {"Basic"},
			"Trailer":            {"X-Checksum"},
			"Transfer-Encoding":  {"chunked"},
			"Upgrade":            {"h2c"},
			"Content-Length":     {"999"},
		}
		return &http.Response{
			StatusCode: http.StatusCreated,
			Header:     header,
			Body:       io.NopCloser(strings.NewReader(`{"taskId":"x"}`)),
			Request:    r,
		}, nil
	})}
	f := newForwarder(&fakeCluster{leader: leaderID}, addressBook{leaderID: "http://leader.example:8070"}, client, time.Second)

	req := httptest.NewRequest(http.MethodPost, "/api/v1/tasks?trace=1&note=a%20b", nil)
	req.Header = http.Header{
		"Authorization":       {"Bearer token-123"},
		"Content-Type":        {"application/json"},
		"X-Custom":            {"one", "two"},
		"Connection":          {"keep-alive, X-Request-Hop"},
		"X-Request-Hop":       {"1"},
		"Keep-Alive":          {"timeout=5"},
		"Proxy-Authorization": {"Basic abc"},
		"Te":                  {"trailers"},
		"Trailer":             {"X-Checksum"},
		"Transfer-Encoding":   {"chunked"},
		"Upgrade":             {"websocket"},
		"Content-Length":      {"999"},
	}
	body := []byte(`{"name":"a","image":"busybox"}`)
	rec := httptest.NewRecorder()

	if err := f.Forward(rec, req, body); err != nil {
		t.Fatalf("expected no error, got %v", err)
	}

	if sent == nil {
		t.Fatal("expected a request to the leader, got none")
	}
	if sent.Method != http.MethodPost {
		t.Errorf("forwarded method: expected POST, got %s", sent.Method)
	}
	if got := sent.URL.String(); got != "http://leader.example:8070/api/v1/tasks?trace=1&note=a%20b" {
		t.Errorf("forwarded URL: expected http://leader.example:8070/api/v1/tasks?trace=1&note=a%%20b, got %s", got)
	}
	if sentBody != string(body) {
		t.Errorf("forwarded body: expected %q, got %q", body, sentBody)
	}
	if sent.ContentLength != int64(len(body)) {
		t.Errorf("forwarded Content-Length: expected %d, got %d", len(body), sent.ContentLength)
	}
	wantHeader := map[string]string{
		"Authorization":         "Bearer token-123",
		"Content-Type":          "application/json",
		"X-Custom":              "one,two",
		forward.ForwardedHeader: selfID,
	}
	for key, value := range wantHeader {
		if got := strings.Join(sent.Header.Values(key), ","); got != value {
			t.Errorf("forwarded header %s: expected %q, got %q", key, value, got)
		}
	}
	for _, key := range []string{"Connection", "X-Request-Hop", "Keep-Alive", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length"} {
		if got, ok := sent.Header[key]; ok {
			t.Errorf("expected hop-by-hop header %s not to be forwarded, got %q", key, got)
		}
	}

	if rec.Code != http.StatusCreated {
		t.Errorf("relayed status: expected 201, got %d", rec.Code)
	}
	if got := rec.Body.String(); got != `{"taskId":"x"}` {
		t.Errorf("relayed body: expected %q, got %q", `{"taskId":"x"}`, got)
	}
	wantAnswer := map[string]string{"Content-Type": "application/json", "X-Podling-Index": "17", "X-Answer": "a,b"}
	for key, value := range wantAnswer {
		if got := strings.Join(rec.Header().Values(key), ","); got != value {
			t.Errorf("relayed header %s: expected %q, got %q", key, value, got)
		}
	}
	for _, key := range []string{"Connection", "X-Answer-Hop", "Keep-Alive", "Proxy-Authenticate", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length"} {
		if got, ok := rec.Header()[key]; ok {
			t.Errorf("expected hop-by-hop header %s not to be relayed, got %q", key, got)
		}
	}
}

func TestForward_OverHTTP(t *testing.T) {
	type seen struct {
		method, uri, body, auth, forwardedBy string
	}
	arrived := make(chan seen, 1)
	leader := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		arrived <- seen{r.Method, r.RequestURI, string(body), r.Header.Get("Authorization"), r.Header.Get(forward.ForwardedHeader)}
		w.Header().Set("X-Answer", "yes")
		w.WriteHeader(http.StatusConflict)
		_, _ = io.WriteString(w, `{"error":"taken","code":"conflict"}`)
	}))
	defer leader.Close()
	f := newForwarder(&fakeCluster{leader: leaderID}, addressBook{leaderID: leader.URL}, nil, time.Second)

	req := httptest.NewRequest(http.MethodPut, "/api/v1/tasks/20250119123456-abc12345/status?x=1", nil)
	req.Header.Set("Authorization", "Bearer token-123")
	rec := httptest.NewRecorder()
	if err := f.Forward(rec, req, []byte(`{"status":"running"}`)); err != nil {
		t.Fatalf("expected no error, got %v", err)
	}

	var got seen
	select {
	case got = <-arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("timed out after 5s waiting for the leader to get the request")
	}
	want := seen{http.MethodPut, "/api/v1/tasks/20250119123456-abc12345/status?x=1", `{"status":"running"}`, "Bearer token-123", selfID}
	if got != want {
		t.Errorf("expected the leader to get %+v, got %+v", want, got)
	}
	if rec.Code != http.StatusConflict {
		t.Errorf("relayed status: expected 409, got %d", rec.Code)
	}
	if rec.Header().Get("X-Answer") != "yes" {
		t.Errorf("relayed header X-Answer: expected yes, got %q", rec.Header().Get("X-Answer"))
	}
	if got := rec.Body.String(); got != `{"error":"taken","code":"conflict"}` {
		t.Errorf("relayed body: expected the leader's body, got %q", got)
	}
}

func TestForward_UnreachableLeaderIsErrNoLeader(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	f := newForwarder(&fakeCluster{leader: leaderID}, addressBook{leaderID: closed.URL}, nil, time.Second)

	rec := httptest.NewRecorder()
	err := f.Forward(rec, httptest.NewRequest(http.MethodPost, "/api/v1/tasks", nil), []byte(`{}`))
	if !errors.Is(err, forward.ErrNoLeader) {
		t.Errorf("expected ErrNoLeader, got %v", err)
	}
	if rec.Body.Len() != 0 {
		t.Errorf("expected nothing written to the client on failure, got %q", rec.Body.String())
	}
}

func TestForward_LeaderHangsUpIsOutcomeUnknown(t *testing.T) {
	// The leader reads the request and closes the connection without an
	// answer, so the write may have been applied.
	hangUp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	defer hangUp.Close()
	f := newForwarder(&fakeCluster{leader: leaderID}, addressBook{leaderID: hangUp.URL}, nil, time.Second)

	rec := httptest.NewRecorder()
	err := f.Forward(rec, httptest.NewRequest(http.MethodPost, "/api/v1/tasks", nil), []byte(`{}`))
	if !errors.Is(err, forward.ErrOutcomeUnknown) {
		t.Errorf("expected ErrOutcomeUnknown, got %v", err)
	}
	if errors.Is(err, forward.ErrNoLeader) {
		t.Errorf("expected an error other than ErrNoLeader, got %v", err)
	}
}

func TestForward_NoLeaderWritesNothing(t *testing.T) {
	f := newForwarder(&fakeCluster{}, addressBook{}, nil, 20*time.Millisecond)

	rec := httptest.NewRecorder()
	err := f.Forward(rec, httptest.NewRequest(http.MethodPost, "/api/v1/tasks", nil), []byte(`{}`))
	if !errors.Is(err, forward.ErrNoLeader) {
		t.Errorf("expected ErrNoLeader, got %v", err)
	}
	if rec.Body.Len() != 0 || len(rec.Header()) != 0 {
		t.Errorf("expected nothing written to the client, got headers %v and body %q", rec.Header(), rec.Body.String())
	}
}

func TestReadIndex_ReturnsLeaderIndex(t *testing.T) {
	tests := []struct {
		name          string
		authorization string
	}{
		{"with authorization", "Bearer token-123"},
		{"without authorization", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			type seen struct {
				method, path, auth, forwardedBy string
				hasAuth                         bool
			}
			arrived := make(chan seen, 1)
			leader := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, hasAuth := r.Header["Authorization"]
				arrived <- seen{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get(forward.ForwardedHeader), hasAuth}
				_, _ = io.WriteString(w, `{"index":42}`)
			}))
			defer leader.Close()
			f := newForwarder(&fakeCluster{leader: leaderID}, addressBook{leaderID: leader.URL}, nil, time.Second)

			index, err := f.ReadIndex(context.Background(), tt.authorization)
			if err != nil {
				t.Fatalf("expected no error, got %v", err)
			}
			if index != 42 {
				t.Errorf("expected index 42, got %d", index)
			}
			got := <-arrived
			want := seen{http.MethodGet, forward.ReadIndexPath, tt.authorization, selfID, tt.authorization != ""}
			if got != want {
				t.Errorf("expected the leader to get %+v, got %+v", want, got)
			}
		})
	}
}

func TestReadIndex_LeaderErrorIsErrNoLeader(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
	}{
		{"unavailable", http.StatusServiceUnavailable, `{"error":"not the leader","code":"no_leader"}`},
		{"internal error", http.StatusInternalServerError, `{"error":"boom","code":"internal"}`},
		{"not found", http.StatusNotFound, `{"error":"no route","code":"not_found"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leader := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			}))
			defer leader.Close()
			f := newForwarder(&fakeCluster{leader: leaderID}, addressBook{leaderID: leader.URL}, nil, time.Second)

			_, err := f.ReadIndex(context.Background(), "")
			if !errors.Is(err, forward.ErrNoLeader) {
				t.Fatalf("expected ErrNoLeader, got %v", err)
			}
			if !strings.Contains(err.Error(), tt.body) {
				t.Errorf("expected the error to include the leader's response body %q, got %q", tt.body, err)
			}
		})
	}
}

func TestReadIndex_MalformedAnswerIsErrNoLeader(t *testing.T) {
	leader := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"index":"forty-two"}`)
	}))
	defer leader.Close()
	f := newForwarder(&fakeCluster{leader: leaderID}, addressBook{leaderID: leader.URL}, nil, time.Second)

	if index, err := f.ReadIndex(context.Background(), ""); !errors.Is(err, forward.ErrNoLeader) {
		t.Errorf("expected ErrNoLeader for a malformed response, got index %d and error %v", index, err)
	}
}

func TestReadIndex_UnreachableLeaderIsErrNoLeader(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	f := newForwarder(&fakeCluster{leader: leaderID}, addressBook{leaderID: closed.URL}, nil, time.Second)

	if _, err := f.ReadIndex(context.Background(), ""); !errors.Is(err, forward.ErrNoLeader) {
		t.Errorf("expected ErrNoLeader, got %v", err)
	}
}

func TestReadIndex_NoLeaderIsErrNoLeader(t *testing.T) {
	f := newForwarder(&fakeCluster{}, addressBook{}, nil, 20*time.Millisecond)

	if _, err := f.ReadIndex(context.Background(), ""); !errors.Is(err, forward.ErrNoLeader) {
		t.Errorf("expected ErrNoLeader, got %v", err)
	}
}

func TestLeaderURL_SelfElectedIsErrLeaderIsSelf(t *testing.T) {
	f := newForwarder(&fakeCluster{leader: selfID, self: true}, addressBook{}, nil, time.Second)

	start := time.Now()
	_, _, err := f.LeaderURL(context.Background())

	if !errors.Is(err, forward.ErrLeaderIsSelf) {
		t.Errorf("expected ErrLeaderIsSelf, got %v", err)
	}
	if waited := time.Since(start); waited > 500*time.Millisecond {
		t.Errorf("expected an answer without waiting for the election wait, waited %s", waited)
	}
}
