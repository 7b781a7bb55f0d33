package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// RaftStatus is the Raft member's state as the collector reads it.
type RaftStatus struct {
	State        string
	Term         uint64
	CommitIndex  uint64
	AppliedIndex uint64
	LastContact  time.Time
	IsLeader     bool
}

// StateSource supplies the values read at every scrape: the Raft member's
// status and the number of objects of each kind by status.
type StateSource interface {
	RaftStatus() RaftStatus
	// ObjectCounts returns counts keyed by kind, then by status ("" when
	// the kind has no status).
	ObjectCounts() map[string]map[string]int
}

var (
	raftStateDesc   = prometheus.NewDesc("podling_raft_state", "1 for this master's current Raft state.", []string{"state"}, nil)
	raftTermDesc    = prometheus.NewDesc("podling_raft_term", "Current Raft term.", nil, nil)
	raftCommitDesc  = prometheus.NewDesc("podling_raft_commit_index", "Highest log index known to be committed.", nil, nil)
	raftAppliedDesc = prometheus.NewDesc("podling_raft_applied_index", "Index of the last command applied to the state machine.", nil, nil)
	raftContactDesc = prometheus.NewDesc("podling_raft_last_contact_seconds", "Seconds since a follower last heard from the leader; 0 on the leader.", nil, nil)
	objectsDesc     = prometheus.NewDesc("podling_objects", "Objects in the replicated state, by kind and status.", []string{"kind", "status"}, nil)
)

// raftStates are every state podling_raft_state reports, so a change of
// state shows as one series dropping to 0 and another rising to 1.
var raftStates = []string{"Follower", "Candidate", "Leader", "Shutdown"}

// stateCollector reads the Raft status and object counts at scrape time.
type stateCollector struct {
	source StateSource
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{raftStateDesc, raftTermDesc, raftCommitDesc, raftAppliedDesc, raftContactDesc, objectsDesc} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.source.RaftStatus()
	for _, state := range raftStates {
		value := 0.0
		if state == st.State {
			value = 1
		}
		ch <- prometheus.MustNewConstMetric(raftStateDesc, prometheus.GaugeValue, value, state)
	}
	ch <- prometheus.MustNewConstMetric(raftTermDesc, prometheus.GaugeValue, float64(st.Term))
	ch <- prometheus.MustNewConstMetric(raftCommitDesc, prometheus.GaugeValue, float64(st.CommitIndex))
	ch <- prometheus.MustNewConstMetric(raftAppliedDesc, prometheus.GaugeValue, float64(st.AppliedIndex))
	contact := 0.0
	if !st.IsLeader && !st.LastContact.IsZero() {
		contact = time.Since(st.LastContact).Seconds()
	}
	ch <- prometheus.MustNewConstMetric(raftContactDesc, prometheus.GaugeValue, contact)
	for kind, byStatus := range c.source.ObjectCounts() {
		for status, n := range byStatus {
			ch <- prometheus.MustNewConstMetric(objectsDesc, prometheus.GaugeValue, float64(n), kind, status)
		}
	}
}
