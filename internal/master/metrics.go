package master

import "github.com/podling/podling/internal/metrics"

// metricsSource gives the metrics collector what it reads at each scrape.
type metricsSource struct{ m *Master }

func (s metricsSource) RaftStatus() metrics.RaftStatus {
	if s.m.node == nil {
		return metrics.RaftStatus{}
	}
	st := s.m.node.Status()
	return metrics.RaftStatus{
		State: st.State, Term: st.Term, CommitIndex: st.CommitIndex, AppliedIndex: st.AppliedIndex,
		LastContact: st.LastContact, IsLeader: s.m.node.IsLeader(),
	}
}

func (s metricsSource) ObjectCounts() map[string]map[string]int { return s.m.fsm.Counts() }
