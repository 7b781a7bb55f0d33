package cluster

import (
	"fmt"
	"time"

	"github.com/hashicorp/raft"
)

// ID returns this master's Raft server ID.
func (n *Node) ID() string { return n.id }

// IsLeader reports whether this master currently believes it is the leader.
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

// Leader returns the ID of the current leader, or "" when this master has
// not heard of one.
func (n *Node) Leader() string {
	_, id := n.raft.LeaderWithID()
	return string(id)
}

// HeartbeatInterval bounds how long a leader goes without contacting a
// follower. Between heartbeats, hashicorp/raft waits a random time from a
// tenth to a fifth of the heartbeat timeout (heartbeat in its
// replication.go).
func (n *Node) HeartbeatInterval() time.Duration { return n.timing.Heartbeat / 5 }

// Status is a point-in-time view of the Raft member.
type Status struct {
	ID           string    `json:"id"`
	State        string    `json:"state"`
	LeaderID     string    `json:"leaderId"`
	Term         uint64    `json:"term"`
	CommitIndex  uint64    `json:"commitIndex"`
	AppliedIndex uint64    `json:"appliedIndex"`
	LastContact  time.Time `json:"lastContact"`
}

// Status returns the member's current role, term and indexes. AppliedIndex
// is the last command applied to the state machine.
func (n *Node) Status() Status {
	return Status{
		ID:           n.id,
		State:        n.raft.State().String(),
		LeaderID:     n.Leader(),
		Term:         n.raft.CurrentTerm(),
		CommitIndex:  n.raft.CommitIndex(),
		AppliedIndex: n.fsm.AppliedIndex(),
		LastContact:  n.raft.LastContact(),
	}
}

// Term returns the current Raft term.
func (n *Node) Term() uint64 { return n.raft.CurrentTerm() }

// Voters returns the number of voting members in the latest configuration,
// or 0 when it cannot be read.
func (n *Node) Voters() int {
	future := n.raft.GetConfiguration()
	if future.Error() != nil {
		return 0
	}
	count := 0
	for _, s := range future.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			count++
		}
	}
	return count
}

// TransferLeadership makes Raft hand leadership to a caught-up follower.
func (n *Node) TransferLeadership() error {
	if err := n.raft.LeadershipTransfer().Error(); err != nil {
		return mapRaftError(err)
	}
	return nil
}

// Ready reports whether this master can serve current data: it knows a
// leader, has heard from it recently (or is a leader past its
// post-election barrier), and has applied every entry the leader had
// committed when last heard from. When not ready, reason says why.
func (n *Node) Ready() (ready bool, reason string) {
	leader := n.Leader()
	switch {
	case leader == "":
		return false, "no leader known"
	case n.IsLeader() && !n.LeaderReady():
		return false, "leader is applying the entries of earlier terms"
	case !n.IsLeader() && time.Since(n.raft.LastContact()) > 2*n.timing.Heartbeat:
		return false, fmt.Sprintf("no contact with leader %s for %s", leader, time.Since(n.raft.LastContact()).Round(time.Millisecond))
	}
	if applied, commit := n.raft.AppliedIndex(), n.raft.CommitIndex(); applied < commit {
		return false, fmt.Sprintf("applied %d of %d committed entries", applied, commit)
	}
	return true, ""
}
