package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/podling/podling/internal/forward"
)

// healthAnswer is the body of GET /health.
type healthAnswer struct {
	Status       string `json:"status"`
	AuthEnabled  bool   `json:"authEnabled"`
	ID           string `json:"id"`
	RaftState    string `json:"raftState"`
	LeaderID     string `json:"leaderId"`
	Term         uint64 `json:"term"`
	CommitIndex  uint64 `json:"commitIndex"`
	AppliedIndex uint64 `json:"appliedIndex"`
}

// health responds from this master alone and never waits for the cluster:
// it is the liveness check.
func (s *Server) health(_ *http.Request) (reply, error) {
	st := s.raft.Status()
	return reply{status: http.StatusOK, body: healthAnswer{
		Status: "ok", AuthEnabled: s.auth, ID: st.ID, RaftState: st.State, LeaderID: st.LeaderID,
		Term: st.Term, CommitIndex: st.CommitIndex, AppliedIndex: st.AppliedIndex,
	}}, nil
}

// errNotReadyToServe: the master cannot serve current data yet.
var errNotReadyToServe = errors.New("not ready")

// ready is the readiness check for load balancers: 200 only when this
// master has a leader and has caught up with it, else 503 with the reason.
func (s *Server) ready(r *http.Request) (reply, error) {
	ok, reason := s.raft.Ready()
	if !ok {
		return reply{}, fmt.Errorf("%w: %s", errNotReadyToServe, reason)
	}
	if !s.raft.IsLeader() {
		if err := s.caughtUp(r.Context()); err != nil {
			return reply{}, fmt.Errorf("%w: %w", errNotReadyToServe, err)
		}
	}
	st := s.raft.Status()
	return reply{status: http.StatusOK, body: map[string]any{"ready": true, "id": st.ID, "leaderId": st.LeaderID, "appliedIndex": st.AppliedIndex}}, nil
}

// readyCatchUpWait bounds how long a readiness check waits for a follower
// to apply what the leader has. It stays under the 1 s check timeout of the
// HAProxy configurations in deploy/haproxy.
const readyCatchUpWait = 500 * time.Millisecond

// caughtUp checks that this follower has applied everything the leader
// had applied when asked, waiting up to readyCatchUpWait. Raft's own commit
// index is not enough, because a restarted follower's starts at zero and
// grows only as the leader's entries reach it.
func (s *Server) caughtUp(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyCatchUpWait)
	defer cancel()
	index, err := s.forwarder.ReadIndex(ctx, "")
	if errors.Is(err, forward.ErrLeaderIsSelf) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the leader's applied index failed: %w", err)
	}
	if err := s.state.WaitForIndex(ctx, index); err != nil {
		return fmt.Errorf("applied %d of the %d entries the leader has applied", s.state.AppliedIndex(), index)
	}
	return nil
}
