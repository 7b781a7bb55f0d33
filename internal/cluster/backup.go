package cluster

import (
	"bytes"
	"fmt"

	"github.com/hashicorp/raft"
)

// RestoreSnapshot replaces the whole cluster's state with a snapshot, as
// in restoring a backup into a fresh cluster. Only the leader can do it;
// followers receive the state through Raft's snapshot installation.
//
// It checks the snapshot before Raft stores it, and rejects a damaged one
// with an error matching fsm.ErrInvalidSnapshot, changing nothing. The FSM
// then installs the state decoded by the check, without decoding again.
func (n *Node) RestoreSnapshot(data []byte) error {
	drop, err := n.fsm.PrepareRestore(data)
	if err != nil {
		// The error already describes the damage.
		return err
	}
	defer drop()
	meta := &raft.SnapshotMeta{Version: raft.SnapshotVersionMax, Size: int64(len(data))}
	if err := n.raft.Restore(meta, bytes.NewReader(data), n.timing.Apply*6); err != nil {
		return fmt.Errorf("restore snapshot: %w", mapRaftError(err))
	}
	n.logger.Warn("cluster state replaced from a snapshot", "bytes", len(data))
	return nil
}
