package api

import (
	"errors"
	"fmt"
	"net/http"
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
func (s *Server) ready(_ *http.Request) (reply, error) {
	ok, reason := s.raft.Ready()
	if !ok {
		return reply{}, fmt.Errorf("%w: %s", errNotReadyToServe, reason)
	}
	st := s.raft.Status()
	return reply{status: http.StatusOK, body: map[string]any{"ready": true, "id": st.ID, "leaderId": st.LeaderID, "appliedIndex": st.AppliedIndex}}, nil
}
