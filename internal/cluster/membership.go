package cluster

import (
	"errors"
	"fmt"

	"github.com/hashicorp/raft"
)

// ErrUnknownMember: the server ID is not in the configuration.
var ErrUnknownMember = errors.New("not a member")

// Member is one server of the Raft configuration.
type Member struct {
	ID          string
	RaftAddress string
	Voter       bool
}

// Members returns the servers of the latest configuration.
func (n *Node) Members() ([]Member, error) {
	future := n.raft.GetConfiguration()
	if err := future.Error(); err != nil {
		return nil, fmt.Errorf("read configuration: %w", mapRaftError(err))
	}
	var out []Member
	for _, s := range future.Configuration().Servers {
		out = append(out, Member{ID: string(s.ID), RaftAddress: string(s.Address), Voter: s.Suffrage == raft.Voter})
	}
	return out, nil
}

// AddVoter adds a server to the cluster as a voter, or updates its
// address. Only the leader can do it.
func (n *Node) AddVoter(id, address string) error {
	if err := n.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(address), 0, n.timing.Apply).Error(); err != nil {
		return fmt.Errorf("add voter %s at %s: %w", id, address, mapRaftError(err))
	}
	n.logger.Info("member added", "member_id", id, "raft_address", address)
	return nil
}

// RemoveMember removes a server from the cluster. Only the leader can do
// it; a leader that removes itself steps down.
func (n *Node) RemoveMember(id string) error {
	members, err := n.Members()
	if err != nil {
		return err
	}
	if !containsMember(members, id) {
		return fmt.Errorf("remove %s: %w", id, ErrUnknownMember)
	}
	if err := n.raft.RemoveServer(raft.ServerID(id), 0, n.timing.Apply).Error(); err != nil {
		return fmt.Errorf("remove member %s: %w", id, mapRaftError(err))
	}
	n.logger.Info("member removed", "member_id", id)
	return nil
}

// TransferLeadershipTo hands leadership to the given member, or to any
// caught-up follower when id is empty.
func (n *Node) TransferLeadershipTo(id string) error {
	if id == "" {
		return n.TransferLeadership()
	}
	members, err := n.Members()
	if err != nil {
		return err
	}
	for _, m := range members {
		if m.ID == id {
			err := n.raft.LeadershipTransferToServer(raft.ServerID(id), raft.ServerAddress(m.RaftAddress)).Error()
			if err != nil {
				return fmt.Errorf("transfer leadership to %s: %w", id, mapRaftError(err))
			}
			return nil
		}
	}
	return fmt.Errorf("transfer leadership to %s: %w", id, ErrUnknownMember)
}

func containsMember(members []Member, id string) bool {
	for _, m := range members {
		if m.ID == id {
			return true
		}
	}
	return false
}

// HadState reports whether the data dir held Raft state when the node
// opened, in which case it neither bootstrapped nor needs to join.
func (n *Node) HadState() bool { return n.hadState }

// RaftAddress returns the address other members dial to reach this one.
func (n *Node) RaftAddress() string { return string(n.transport.LocalAddr()) }
