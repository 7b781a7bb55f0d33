package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/podling/podling/fsm"
	"github.com/podling/podling/internal/api"
	"github.com/podling/podling/internal/forward"
	"github.com/podling/podling/internal/types"
)

// waitingState is an FSM that reports each WaitForIndex call, so a test
// can tell when a read is blocked on an index it has not applied yet.
type waitingState struct {
	*fsm.FSM
	waits chan uint64
}

func (s waitingState) WaitForIndex(ctx context.Context, index uint64) error {
	select {
	case s.waits <- index:
	default:
	}
	return s.FSM.WaitForIndex(ctx, index)
}

// newWaitingFollower returns a follower whose reads report their waits on
// the returned channel.
func newWaitingFollower(t *testing.T, leaderURL string, opts masterOptions) (*master, <-chan uint64) {
	t.Helper()
	waits := make(chan uint64, 8)
	opts.state = func(f *fsm.FSM) api.State { return waitingState{FSM: f, waits: waits} }
	return newFollower(t, leaderURL, opts), waits
}

// readIndexStub returns a leader stub that serves read-index requests with
// a fixed index.
func readIndexStub(t *testing.T, index uint64) *leaderStub {
	t.Helper()
	return newLeaderStub(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != forward.ReadIndexPath {
			http.Error(w, "unexpected path "+r.URL.Path, http.StatusTeapot)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"index":%d}`, index)
	})
}

// applyAt applies cmd to f at the given log index, as Raft would on a follower.
func applyAt(t *testing.T, f *fsm.FSM, index uint64, cmd fsm.Command) {
	t.Helper()
	data, err := fsm.Encode(cmd)
	if err != nil {
		t.Fatalf("Encode(%s): expected no error, got %v", cmd.Type(), err)
	}
	if result := f.Apply(&raft.Log{Index: index, Data: data}); result != nil {
		if err, ok := result.(error); ok {
			t.Fatalf("apply %s at index %d: expected no error, got %v", cmd.Type(), index, err)
		}
	}
}

func TestFollowerRead_WaitsForLeaderIndex(t *testing.T) {
	task := types.Task{TaskID: validTaskID, Name: "web", Image: "nginx:latest", CreatedAt: baseTime}
	node := types.Node{NodeID: "worker-1", Hostname: "worker-1", Port: 8081, Capacity: 1, LastHeartbeat: baseTime, RegisteredAt: baseTime}
	tests := []struct {
		name   string
		target string
		entry  fsm.Command
		check  func(t *testing.T, rec *httptest.ResponseRecorder)
	}{
		{
			name: "one task", target: "/api/v1/tasks/" + validTaskID, entry: fsm.CreateTask{Task: task},
			check: func(t *testing.T, rec *httptest.ResponseRecorder) {
				if got := decodeBody[types.Task](t, rec); got.TaskID != validTaskID {
					t.Errorf("expected task %s, got %q", validTaskID, got.TaskID)
				}
			},
		},
		{
			name: "task list", target: "/api/v1/tasks?status=pending", entry: fsm.CreateTask{Task: task},
			check: func(t *testing.T, rec *httptest.ResponseRecorder) {
				if got := decodeBody[[]types.Task](t, rec); len(got) != 1 || got[0].TaskID != validTaskID {
					t.Errorf("expected only task %s, got %+v", validTaskID, got)
				}
			},
		},
		{
			name: "node list", target: "/api/v1/nodes", entry: fsm.RegisterNode{Node: node},
			check: func(t *testing.T, rec *httptest.ResponseRecorder) {
				if got := decodeBody[[]types.Node](t, rec); len(got) != 1 || got[0].NodeID != "worker-1" {
					t.Errorf("expected only node worker-1, got %+v", got)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stub := readIndexStub(t, 2)
			f, waits := newWaitingFollower(t, stub.server.URL, masterOptions{})
			applyAt(t, f.fsm, 1, fsm.SetMasterAddress{ServerID: leaderID, APIAddress: stub.server.URL})

			done := doAsync(f.server, http.MethodGet, tt.target, "", "Authorization", "Bearer token-123")

			call := receive(t, stub.arrived, "the read-index request")
			if got := call.Header.Get("Authorization"); got != "Bearer token-123" {
				t.Errorf("read-index Authorization: expected %q, got %q", "Bearer token-123", got)
			}
			if got := call.Header.Get(forward.ForwardedHeader); got != followerID {
				t.Errorf("read-index %s: expected %q, got %q", forward.ForwardedHeader, followerID, got)
			}
			if got := receive(t, waits, "the follower to wait for an index"); got != 2 {
				t.Errorf("expected the follower to wait for index 2, got %d", got)
			}
			select {
			case rec := <-done:
				t.Fatalf("expected the read to wait for index 2, it returned %d with %s", rec.Code, rec.Body.String())
			default:
			}

			applyAt(t, f.fsm, 2, tt.entry)

			rec := receive(t, done, "the read to finish")
			wantStatus(t, rec, http.StatusOK)
			if got := rec.Header().Get(api.IndexHeader); got != "2" {
				t.Errorf("expected %s 2, got %q", api.IndexHeader, got)
			}
			tt.check(t, rec)
		})
	}
}

func TestFollowerRead_AlreadyCaughtUp(t *testing.T) {
	stub := readIndexStub(t, 1)
	f := newFollower(t, stub.server.URL, masterOptions{})
	applyAt(t, f.fsm, 1, fsm.CreateTask{Task: types.Task{TaskID: validTaskID, Name: "a", Image: "busybox", CreatedAt: baseTime}})
	applyAt(t, f.fsm, 2, fsm.SetMasterAddress{ServerID: leaderID, APIAddress: stub.server.URL})

	rec := do(t, f.server, http.MethodGet, "/api/v1/tasks/"+validTaskID, "")
	wantStatus(t, rec, http.StatusOK)
	if got := rec.Header().Get(api.IndexHeader); got != "2" {
		t.Errorf("expected %s to be the follower's applied index 2, got %q", api.IndexHeader, got)
	}
	if n := len(stub.calls()); n != 1 {
		t.Errorf("expected 1 read-index request, got %d", n)
	}
}

func TestFollowerRead_StaleAnswersLocally(t *testing.T) {
	stub := readIndexStub(t, 100)
	f := newFollower(t, stub.server.URL, masterOptions{})
	applyAt(t, f.fsm, 1, fsm.CreateTask{Task: types.Task{TaskID: validTaskID, Name: "a", Image: "busybox", CreatedAt: baseTime}})
	f.raft.set(func(r *fakeRaft) { r.lastContact = time.Now().Add(-3 * time.Second) })

	for _, target := range []string{"/api/v1/tasks?stale=true", "/api/v1/tasks/" + validTaskID + "?stale=1", "/api/v1/nodes?stale=true"} {
		t.Run(target, func(t *testing.T) {
			rec := do(t, f.server, http.MethodGet, target, "")
			wantStatus(t, rec, http.StatusOK)
			if got := rec.Header().Get(api.IndexHeader); got != "1" {
				t.Errorf("expected %s to be the local applied index 1, got %q", api.IndexHeader, got)
			}
			raw := rec.Header().Get(api.LastContactHeader)
			age, err := time.ParseDuration(raw)
			if err != nil {
				t.Fatalf("expected %s to be a duration, got %q: %v", api.LastContactHeader, raw, err)
			}
			if age < 3*time.Second || age > time.Minute {
				t.Errorf("expected %s of about 3s, got %v", api.LastContactHeader, age)
			}
		})
	}
	if n := len(stub.calls()); n != 0 {
		t.Errorf("expected stale reads not to contact the leader, it got %d requests", n)
	}
}

func TestFollowerRead_StaleWithoutLeaderContact(t *testing.T) {
	f := newFollower(t, "http://127.0.0.1:1", masterOptions{})
	f.raft.set(func(r *fakeRaft) { r.leader = "" })

	rec := do(t, f.server, http.MethodGet, "/api/v1/tasks?stale=true", "")
	wantStatus(t, rec, http.StatusOK)
	if got := rec.Header().Get(api.LastContactHeader); got != "never" {
		t.Errorf("expected %s never for a follower that never heard from a leader, got %q", api.LastContactHeader, got)
	}
}

func TestLeaderRead_StaleHasZeroLastContact(t *testing.T) {
	m := newLeader(t, masterOptions{})

	rec := do(t, m.server, http.MethodGet, "/api/v1/tasks?stale=true", "")
	wantStatus(t, rec, http.StatusOK)
	if got := rec.Header().Get(api.LastContactHeader); got != "0s" {
		t.Errorf("expected %s 0s on the leader, got %q", api.LastContactHeader, got)
	}
}

func TestLeaderRead_NotStaleHasNoLastContact(t *testing.T) {
	m := newLeader(t, masterOptions{})

	rec := do(t, m.server, http.MethodGet, "/api/v1/tasks", "")
	wantStatus(t, rec, http.StatusOK)
	if got := rec.Header().Get(api.LastContactHeader); got != "" {
		t.Errorf("expected no %s on a linearizable read, got %q", api.LastContactHeader, got)
	}
}

func TestFollowerRead_ReadIndexErrorIs503(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
	}{
		{"leader unavailable", http.StatusServiceUnavailable, `{"error":"leader is still catching up after its election","code":"no_leader"}`},
		{"leader internal error", http.StatusInternalServerError, `{"error":"boom","code":"internal"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stub := newLeaderStub(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			})
			f := newFollower(t, stub.server.URL, masterOptions{})

			rec := do(t, f.server, http.MethodGet, "/api/v1/tasks", "")
			wantError(t, rec, http.StatusServiceUnavailable, "no_leader", strconv.Itoa(tt.status))
			wantRetryAfter(t, rec.Header())
			if n := len(stub.calls()); n != 1 {
				t.Errorf("expected 1 read-index request, got %d", n)
			}
		})
	}
}

func TestFollowerRead_IndexNeverReachedIs503(t *testing.T) {
	stub := readIndexStub(t, 99)
	f := newFollower(t, stub.server.URL, masterOptions{readTimeout: 50 * time.Millisecond})

	start := time.Now()
	rec := do(t, f.server, http.MethodGet, "/api/v1/tasks", "")
	elapsed := time.Since(start)

	wantError(t, rec, http.StatusServiceUnavailable, "timeout", "99")
	if elapsed > 5*time.Second {
		t.Errorf("expected the read to give up after the read timeout of 50ms, it took %v", elapsed)
	}
}

func TestFollowerRead_FromLeaderServer(t *testing.T) {
	leader := newLeader(t, masterOptions{})
	stub := newLeaderStub(t, leader.server.ServeHTTP)
	f, waits := newWaitingFollower(t, stub.server.URL, masterOptions{})

	// A write acknowledged by the leader before the read begins.
	task := createTask(t, leader, `{"name":"web","image":"nginx:latest"}`)

	done := doAsync(f.server, http.MethodGet, "/api/v1/tasks/"+task.TaskID, "")
	if got := receive(t, waits, "the follower to wait for an index"); got != 1 {
		t.Errorf("expected the follower to wait for the leader's index 1, got %d", got)
	}
	applyAt(t, f.fsm, 1, fsm.CreateTask{Task: task})

	rec := receive(t, done, "the read to finish")
	wantStatus(t, rec, http.StatusOK)
	if got := decodeBody[types.Task](t, rec); got.TaskID != task.TaskID {
		t.Errorf("expected task %s, got %q", task.TaskID, got.TaskID)
	}
}
