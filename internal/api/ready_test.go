package api_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/podling/podling/fsm"
	"github.com/podling/podling/internal/types"
)

// Ready mirrors cluster.Node.Ready for the states the fake models.
func (r *fakeRaft) Ready() (bool, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.leader == "":
		return false, "no leader known"
	case r.isLeader && !r.ready:
		return false, "leader is applying the entries of earlier terms"
	}
	return true, ""
}

func TestReady_LeaderAndFollower(t *testing.T) {
	leader := newLeader(t, masterOptions{})
	wantStatus(t, do(t, leader.server, http.MethodGet, "/ready", ""), http.StatusOK)

	stub := readIndexStub(t, 0)
	follower := newFollower(t, stub.server.URL, masterOptions{})
	wantStatus(t, do(t, follower.server, http.MethodGet, "/ready", ""), http.StatusOK)
}

func TestReady_FollowerBehindLeaderIs503(t *testing.T) {
	stub := readIndexStub(t, 5)
	follower := newFollower(t, stub.server.URL, masterOptions{})

	rec := do(t, follower.server, http.MethodGet, "/ready", "")

	wantError(t, rec, http.StatusServiceUnavailable, "not_ready", "applied 0 of the 5 entries the leader has applied")
}

func TestReady_FollowerThatCannotReachLeaderIs503(t *testing.T) {
	follower := newFollower(t, "http://127.0.0.1:1", masterOptions{})

	rec := do(t, follower.server, http.MethodGet, "/ready", "")

	wantError(t, rec, http.StatusServiceUnavailable, "not_ready", "reading the leader's applied index failed")
}

func TestReady_NoLeaderIs503(t *testing.T) {
	m := newMaster(t, followerID, addressBook{}, masterOptions{})

	rec := do(t, m.server, http.MethodGet, "/ready", "")

	wantError(t, rec, http.StatusServiceUnavailable, "not_ready", "no leader known")
}

func TestMinIndex_WaitsForLocalApply(t *testing.T) {
	// The follower's leader address is unreachable: a minIndex read must
	// not need it.
	m := newFollower(t, "http://127.0.0.1:1", masterOptions{readTimeout: 5 * time.Second})
	next := m.fsm.AppliedIndex() + 1

	done := doAsync(m.server, http.MethodGet, "/api/v1/tasks?minIndex="+strconv.FormatUint(next, 10), "")
	select {
	case rec := <-done:
		t.Fatalf("read returned %d before index %d was applied", rec.Code, next)
	case <-time.After(50 * time.Millisecond):
	}
	task := types.Task{TaskID: "20250119123456-abc12345", Name: "t", Image: "img", CreatedAt: baseTime}
	m.raft.commit(t, fsm.CreateTask{Task: task})

	rec := <-done
	wantStatus(t, rec, http.StatusOK)
	if got := rec.Header().Get("X-Podling-Index"); got != strconv.FormatUint(next, 10) {
		t.Errorf("X-Podling-Index = %q, want %d", got, next)
	}
}

func TestMinIndex_NeverAppliedIs503(t *testing.T) {
	m := newFollower(t, "http://127.0.0.1:1", masterOptions{readTimeout: 100 * time.Millisecond})

	rec := do(t, m.server, http.MethodGet, "/api/v1/tasks?minIndex=1000", "")

	wantError(t, rec, http.StatusServiceUnavailable, "timeout")
}

func TestMinIndex_NotANumberIs400(t *testing.T) {
	m := newLeader(t, masterOptions{})

	rec := do(t, m.server, http.MethodGet, "/api/v1/tasks?minIndex=-1", "")

	wantError(t, rec, http.StatusBadRequest, "invalid_argument", "minIndex")
}
