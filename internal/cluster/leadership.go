package cluster

import (
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// leadership turns Raft's raw notifications into the events that
// LeadershipChanges delivers. A gain is announced only after a barrier has
// applied every entry of earlier terms, so a new leader never serves reads
// or schedules from a state that misses acknowledged writes.
type leadership struct {
	raw       chan bool     // Raft's NotifyCh
	events    chan bool     // delivered to the master
	readyTerm atomic.Uint64 // term whose barrier completed, 0 when not leader
	done      chan struct{}
}

func newLeadership() *leadership {
	return &leadership{raw: make(chan bool, 16), events: make(chan bool, 16), done: make(chan struct{})}
}

func (n *Node) watchLeadership() {
	for {
		select {
		case <-n.leadership.done:
			return
		case isLeader := <-n.leadership.raw:
			n.handleLeadershipChange(isLeader)
		}
	}
}

func (n *Node) handleLeadershipChange(isLeader bool) {
	if !isLeader {
		n.leadership.readyTerm.Store(0)
		n.logger.Info("lost leadership")
		n.publishLeadership(false)
		return
	}
	term := n.raft.CurrentTerm()
	if !n.barrierWhileLeader() {
		return // a later notification reports the loss
	}
	n.leadership.readyTerm.Store(term)
	n.logger.Info("became leader", "term", term)
	n.publishLeadership(true)
}

// barrierWhileLeader retries the barrier until it succeeds or this master
// is no longer leader.
func (n *Node) barrierWhileLeader() bool {
	for n.IsLeader() {
		err := n.Barrier(n.timing.Apply)
		if err == nil {
			return true
		}
		n.logger.Warn("barrier after election failed, retrying", "error", err)
		select {
		case <-n.leadership.done:
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
	return false
}

func (n *Node) publishLeadership(isLeader bool) {
	select {
	case n.leadership.events <- isLeader:
	case <-n.leadership.done:
	}
}

// LeadershipChanges delivers true when this master has become leader and
// has applied every earlier entry, and false when it stops being leader.
// It has one consumer, which must read promptly.
func (n *Node) LeadershipChanges() <-chan bool { return n.leadership.events }

// LeaderReady reports whether this master is the leader and its
// post-election barrier has completed, so its state includes every
// acknowledged write.
func (n *Node) LeaderReady() bool {
	term := n.leadership.readyTerm.Load()
	return term != 0 && n.raft.State() == raft.Leader && term == n.raft.CurrentTerm()
}
