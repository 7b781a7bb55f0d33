package api

import "net/http"

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
