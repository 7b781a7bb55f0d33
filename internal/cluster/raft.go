package cluster

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// Snapshot and log retention. A snapshot is taken once 8192 entries have
// accumulated (checked every 30 s), which keeps restart replay short. After
// it, 10240 entries stay in the log, so a follower that was away for a few
// seconds of heavy writes catches up from the log, not from a snapshot.
const (
	snapshotThreshold = 8192
	snapshotInterval  = 30 * time.Second
	trailingLogs      = 10240
	snapshotsRetained = 2
)

func (n *Node) raftConfig(cfg Config, logger hclog.Logger) *raft.Config {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.ID)
	rc.Logger = logger
	rc.HeartbeatTimeout = cfg.Timing.Heartbeat
	rc.ElectionTimeout = cfg.Timing.Election
	rc.LeaderLeaseTimeout = cfg.Timing.LeaderLease
	rc.SnapshotThreshold = snapshotThreshold
	rc.SnapshotInterval = snapshotInterval
	rc.TrailingLogs = trailingLogs
	rc.NotifyCh = n.leadership.raw
	// Up to 256 entries go to a follower in one AppendEntries call.
	// BatchApplyCh stays off, because the batcher already combines
	// concurrent proposals into one entry, and with BatchApplyCh on, a
	// proposal made while Raft shut down was once seen to wait forever.
	rc.MaxAppendEntries = 256
	return rc
}

func (n *Node) startRaft(cfg Config, logger hclog.Logger) error {
	snaps, err := raft.NewFileSnapshotStoreWithLogger(filepath.Join(cfg.DataDir, "snapshots"), snapshotsRetained, logger)
	if err != nil {
		return fmt.Errorf("open snapshot store: %w", err)
	}
	logs, err := raft.NewLogCache(512, n.store)
	if err != nil {
		return fmt.Errorf("create log cache: %w", err)
	}
	existing, err := raft.HasExistingState(logs, n.store, snaps)
	if err != nil {
		return fmt.Errorf("check for existing raft state: %w", err)
	}
	r, err := raft.NewRaft(n.raftConfig(cfg, logger), cfg.FSM, logs, n.store, snaps, n.transport)
	if err != nil {
		return fmt.Errorf("start raft: %w", err)
	}
	n.raft = r
	n.hadState = existing
	switch {
	case existing:
		n.logger.Info("found existing raft state, not bootstrapping", "data_dir", cfg.DataDir)
		return nil
	case cfg.Join:
		n.logger.Info("waiting to be added to a running cluster")
		return nil
	}
	return n.bootstrap(cfg)
}

// bootstrap writes the founding configuration. Every founder gets the same
// peer list, so whichever founder's entry wins, the configuration is equal.
func (n *Node) bootstrap(cfg Config) error {
	servers, err := foundingServers(cfg, n.transport.LocalAddr())
	if err != nil {
		_ = n.raft.Shutdown().Error()
		return err
	}
	n.logger.Info("bootstrapping cluster", "founders", len(servers))
	if err := n.raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil {
		_ = n.raft.Shutdown().Error()
		return fmt.Errorf("bootstrap cluster: %w", err)
	}
	return nil
}

func foundingServers(cfg Config, self raft.ServerAddress) ([]raft.Server, error) {
	if len(cfg.Peers) == 0 {
		return []raft.Server{{ID: raft.ServerID(cfg.ID), Address: self}}, nil
	}
	var servers []raft.Server
	found := false
	for _, p := range cfg.Peers {
		found = found || p.ID == cfg.ID
		servers = append(servers, raft.Server{ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.Address)})
	}
	if !found {
		return nil, fmt.Errorf("this master's id %q is not in the peer list", cfg.ID)
	}
	return servers, nil
}

// Shutdown stops the Raft member and closes its stores. It does not hand
// over leadership; call TransferLeadership first for that.
func (n *Node) Shutdown() error {
	err := n.raft.Shutdown().Error()
	n.batches.close()
	close(n.leadership.done)
	n.closeStores()
	if err != nil {
		return fmt.Errorf("shut down raft: %w", err)
	}
	return nil
}
