package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podling/podling/internal/api"
	"github.com/podling/podling/internal/forward"
	"github.com/podling/podling/internal/types"
)

// recordedRequest is one request as a leader stub received it.
type recordedRequest struct {
	Method     string
	RequestURI string
	Header     http.Header
	Body       string
}

// leaderStub is an HTTP server standing in for the leader's API. It records
// every request and responds through its handler.
type leaderStub struct {
	server   *httptest.Server
	mu       sync.Mutex
	requests []recordedRequest
	arrived  chan recordedRequest
}

func newLeaderStub(t *testing.T, respond http.HandlerFunc) *leaderStub {
	t.Helper()
	stub := &leaderStub{arrived: make(chan recordedRequest, 16)}
	stub.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := recordedRequest{Method: r.Method, RequestURI: r.RequestURI, Header: r.Header.Clone(), Body: string(body)}
		stub.mu.Lock()
		stub.requests = append(stub.requests, rec)
		stub.mu.Unlock()
		select {
		case stub.arrived <- rec:
		default:
		}
		respond(w, r)
	}))
	t.Cleanup(stub.server.Close)
	return stub
}

func (s *leaderStub) calls() []recordedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recordedRequest(nil), s.requests...)
}

// send sends a request to a server over HTTP and returns the response
// with its body read.
func send(t *testing.T, url, method, target, body string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url+target, strings.NewReader(body))
	if err != nil {
		t.Fatalf("build request: %v", err)
	}
	for key, values := range header {
		req.Header[key] = values
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("send %s %s: %v", method, target, err)
	}
	return resp, readAll(t, resp.Body)
}

func TestFollower_ForwardsWritesUnchanged(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		target   string
		body     string
		status   int // the leader's response status
		response string
	}{
		{
			name: "create task", method: http.MethodPost, target: "/api/v1/tasks?trace=1&note=a%20b",
			body:   `{"name":"nginx-task","image":"nginx:latest","env":{"PORT":"8080"}}`,
			status: http.StatusCreated, response: `{"taskId":"20250119123456-abc12345","status":"pending"}` + "\n",
		},
		{
			name: "status update", method: http.MethodPut, target: "/api/v1/tasks/" + validTaskID + "/status?attempt=2",
			body:   `{"status":"running","containerId":"docker-container-id"}`,
			status: http.StatusOK, response: `{"taskId":"20250119123456-abc12345","status":"running"}` + "\n",
		},
		{
			name: "register", method: http.MethodPost, target: "/api/v1/nodes/register",
			body:   `{"hostname":"worker-1","port":8081,"capacity":10}`,
			status: http.StatusOK, response: `{"nodeId":"worker-1"}`,
		},
		{
			name: "heartbeat without body", method: http.MethodPost, target: "/api/v1/nodes/worker-1/heartbeat",
			body: "", status: http.StatusOK, response: `{"nodeId":"worker-1"}`,
		},
		{
			name: "leader rejection", method: http.MethodPut, target: "/api/v1/tasks/" + validTaskID + "/status",
			body:   `{"status":"completed"}`,
			status: http.StatusConflict, response: `{"error":"task 20250119123456-abc12345: cannot move from pending to completed","code":"illegal_transition"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stub := newLeaderStub(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set(forward.ServedByHeader, leaderID)
				w.Header().Set(api.IndexHeader, "17")
				w.Header().Set("X-Answer-Trace", "trace-42")
				w.Header().Add("X-Answer-Multi", "one")
				w.Header().Add("X-Answer-Multi", "two")
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.response)
			})
			f := newFollower(t, stub.server.URL, masterOptions{})
			follower := httptest.NewServer(f.server)
			defer follower.Close()
			before := takeSnapshot(f.fsm)

			header := http.Header{
				"Authorization":   {"Bearer token-123"},
				"Content-Type":    {"application/json"},
				"X-Custom-Header": {"custom-value"},
				"X-Multi":         {"a", "b"},
			}
			resp, body := send(t, follower.URL, tt.method, tt.target, tt.body, header)

			calls := stub.calls()
			if len(calls) != 1 {
				t.Fatalf("expected the leader to get 1 request, got %d", len(calls))
			}
			got := calls[0]
			if got.Method != tt.method {
				t.Errorf("forwarded method: expected %s, got %s", tt.method, got.Method)
			}
			if got.RequestURI != tt.target {
				t.Errorf("forwarded path and query: expected %s, got %s", tt.target, got.RequestURI)
			}
			if got.Body != tt.body {
				t.Errorf("forwarded body: expected %q, got %q", tt.body, got.Body)
			}
			for key, values := range header {
				if g := strings.Join(got.Header.Values(key), ","); g != strings.Join(values, ",") {
					t.Errorf("forwarded header %s: expected %q, got %q", key, strings.Join(values, ","), g)
				}
			}
			if g := got.Header.Get(forward.ForwardedHeader); g != followerID {
				t.Errorf("forwarded header %s: expected %q, got %q", forward.ForwardedHeader, followerID, g)
			}

			if resp.StatusCode != tt.status {
				t.Errorf("relayed status: expected %d, got %d", tt.status, resp.StatusCode)
			}
			if body != tt.response {
				t.Errorf("relayed body: expected %q, got %q", tt.response, body)
			}
			wantHeaders := map[string]string{
				"Content-Type":         "application/json",
				forward.ServedByHeader: leaderID,
				api.IndexHeader:        "17",
				"X-Answer-Trace":       "trace-42",
				"X-Answer-Multi":       "one,two",
			}
			for key, value := range wantHeaders {
				if g := strings.Join(resp.Header.Values(key), ","); g != value {
					t.Errorf("relayed header %s: expected %q, got %q", key, value, g)
				}
			}

			if n := f.raft.proposalCount(); n != 0 {
				t.Errorf("expected the follower to propose nothing, got %d proposals", n)
			}
			wantUnchanged(t, f.fsm, before)
		})
	}
}

func TestFollower_DoesNotForwardTwice(t *testing.T) {
	tests := []struct {
		method, target, body string
	}{
		{http.MethodPost, "/api/v1/tasks", `{"name":"a","image":"busybox"}`},
		{http.MethodPut, "/api/v1/tasks/" + validTaskID + "/status", `{"status":"running"}`},
		{http.MethodPost, "/api/v1/nodes/register", `{"hostname":"worker-1","port":8081,"capacity":1}`},
		{http.MethodPost, "/api/v1/nodes/worker-1/heartbeat", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			stub := newLeaderStub(t, func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusOK)
			})
			f := newFollower(t, stub.server.URL, masterOptions{})

			rec := do(t, f.server, tt.method, tt.target, tt.body, forward.ForwardedHeader, "master-3")
			wantError(t, rec, http.StatusServiceUnavailable, "no_leader", "master-3")
			wantRetryAfter(t, rec.Header())
			if n := len(stub.calls()); n != 0 {
				t.Errorf("expected a forwarded request not to be forwarded again, the leader got %d requests", n)
			}
			if n := f.raft.proposalCount(); n != 0 {
				t.Errorf("expected the follower to propose nothing, got %d proposals", n)
			}
		})
	}
}

func TestFollower_NoLeaderIs503(t *testing.T) {
	const electionWait = 100 * time.Millisecond
	tests := []struct {
		name   string
		leader string
	}{
		{"no leader known", ""},
		{"leader is this master", followerID},
		{"leader address unknown", "master-9"},
	}
	requests := []struct {
		method, target, body string
	}{
		{http.MethodPost, "/api/v1/tasks", `{"name":"a","image":"busybox"}`},
		{http.MethodGet, "/api/v1/tasks", ""},
	}
	for _, tt := range tests {
		for _, req := range requests {
			t.Run(tt.name+"/"+req.method, func(t *testing.T) {
				stub := newLeaderStub(t, func(w http.ResponseWriter, _ *http.Request) {
					w.WriteHeader(http.StatusOK)
				})
				f := newFollower(t, stub.server.URL, masterOptions{electionWait: electionWait})
				f.raft.set(func(r *fakeRaft) { r.leader = tt.leader })

				start := time.Now()
				rec := do(t, f.server, req.method, req.target, req.body)
				elapsed := time.Since(start)

				wantError(t, rec, http.StatusServiceUnavailable, "no_leader")
				wantRetryAfter(t, rec.Header())
				if elapsed < electionWait {
					t.Errorf("expected the request to wait the election wait of %v for a leader, it returned after %v", electionWait, elapsed)
				}
				if elapsed > electionWait+3*time.Second {
					t.Errorf("expected the request to give up soon after the election wait of %v, it took %v", electionWait, elapsed)
				}
				if n := len(stub.calls()); n != 0 {
					t.Errorf("expected no request to reach the stub, got %d", n)
				}
			})
		}
	}
}

func TestFollower_LeaderUnreachableIs503(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	f := newFollower(t, closed.URL, masterOptions{})

	for _, tt := range []struct{ method, target, body string }{
		{http.MethodPost, "/api/v1/tasks", `{"name":"a","image":"busybox"}`},
		{http.MethodPut, "/api/v1/tasks/" + validTaskID + "/status", `{"status":"running"}`},
		{http.MethodGet, "/api/v1/nodes", ""},
	} {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			rec := do(t, f.server, tt.method, tt.target, tt.body)
			wantError(t, rec, http.StatusServiceUnavailable, "no_leader", leaderID)
			wantRetryAfter(t, rec.Header())
		})
	}
}

func TestFollower_BodyTooLargeIsNotForwarded(t *testing.T) {
	stub := newLeaderStub(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusCreated)
	})
	f := newFollower(t, stub.server.URL, masterOptions{maxBodyBytes: 32})

	rec := do(t, f.server, http.MethodPost, "/api/v1/tasks", `{"name":"`+strings.Repeat("x", 64)+`","image":"busybox"}`)
	wantError(t, rec, http.StatusRequestEntityTooLarge, "too_large")
	if n := len(stub.calls()); n != 0 {
		t.Errorf("expected an oversized body not to be forwarded, the leader got %d requests", n)
	}
}

func TestFollower_ForwardsToLeaderServer(t *testing.T) {
	leader := newLeader(t, masterOptions{})
	stub := newLeaderStub(t, leader.server.ServeHTTP)
	f := newFollower(t, stub.server.URL, masterOptions{})

	rec := do(t, f.server, http.MethodPost, "/api/v1/tasks", `{"name":"web","image":"nginx:latest"}`,
		"Authorization", "Bearer token-123")
	wantStatus(t, rec, http.StatusCreated)
	task := decodeBody[types.Task](t, rec)
	if _, ok := leader.fsm.Task(task.TaskID); !ok {
		t.Errorf("expected the leader's FSM to hold task %s, found none", task.TaskID)
	}
	if _, ok := f.fsm.Task(task.TaskID); ok {
		t.Errorf("expected the follower's FSM to be untouched by a forwarded write, found task %s", task.TaskID)
	}
	if got := rec.Header().Get(forward.ServedByHeader); got != leaderID {
		t.Errorf("expected %s %q, got %q", forward.ServedByHeader, leaderID, got)
	}
	if got := rec.Header().Get(api.IndexHeader); got != "1" {
		t.Errorf("expected %s 1 from the leader, got %q", api.IndexHeader, got)
	}

	rec = do(t, f.server, http.MethodPut, "/api/v1/tasks/"+task.TaskID+"/status", `{"status":"completed"}`)
	wantError(t, rec, http.StatusConflict, "illegal_transition")
}

func TestFollower_ForwardedErrorKeepsLeaderBody(t *testing.T) {
	leaderError := types.Error{Error: "name: is required", Code: "invalid_argument"}
	stub := newLeaderStub(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(leaderError)
	})
	f := newFollower(t, stub.server.URL, masterOptions{})

	rec := do(t, f.server, http.MethodPost, "/api/v1/tasks", `{"image":"busybox"}`)
	// The follower checks nothing but the size before forwarding, so the
	// client gets the leader's own 400.
	wantError(t, rec, http.StatusBadRequest, "invalid_argument", "name")
	if n := len(stub.calls()); n != 1 {
		t.Errorf("expected the leader to get 1 request, got %d", n)
	}
}
