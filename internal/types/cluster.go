package types

import "time"

// ClusterInfo is the response of GET /api/v1/cluster: the leader, its
// indexes and every member, as the serving master reports them.
type ClusterInfo struct {
	LeaderID     string       `json:"leaderId"`
	Term         uint64       `json:"term"`
	CommitIndex  uint64       `json:"commitIndex"`
	AppliedIndex uint64       `json:"appliedIndex"`
	Members      []MemberInfo `json:"members"`
}

// MemberInfo describes one master as the serving master reports it.
type MemberInfo struct {
	ID          string `json:"id"`
	RaftAddress string `json:"raftAddress"`
	APIAddress  string `json:"apiAddress,omitempty"`
	Voter       bool   `json:"voter"`
	Leader      bool   `json:"leader"`
	// Healthy is true when the member responded to its /health just now;
	// LastContact is when, and Error why not.
	Healthy      bool       `json:"healthy"`
	LastContact  *time.Time `json:"lastContact,omitempty"`
	Error        string     `json:"error,omitempty"`
	AppliedIndex uint64     `json:"appliedIndex,omitempty"`
}

// JoinRequest is the body of POST /api/v1/cluster/join.
type JoinRequest struct {
	ID          string `json:"id"`
	RaftAddress string `json:"raftAddress"`
	APIAddress  string `json:"apiAddress"`
}

// TransferRequest is the optional body of POST
// /api/v1/cluster/leadership/transfer; an empty ID lets Raft pick.
type TransferRequest struct {
	ID string `json:"id,omitempty"`
}

// TransferResult is the response of a leadership transfer.
type TransferResult struct {
	PreviousLeader string `json:"previousLeader"`
	LeaderID       string `json:"leaderId"`
}

// DrainResult is the response of POST /api/v1/nodes/{nodeId}/drain.
type DrainResult struct {
	Node Node `json:"node"`
	// MovedPods were stopped on the node and wait to be placed elsewhere.
	MovedPods []string `json:"movedPods"`
	// KeptPods run under restartPolicy Never, so moving them would mean
	// running them twice; they stay until they end or are deleted.
	KeptPods []string `json:"keptPods"`
}
