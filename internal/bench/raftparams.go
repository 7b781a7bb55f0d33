package bench

import (
	"time"

	"github.com/hashicorp/raft"

	"github.com/podling/podling/internal/cluster"
)

// Podling's Raft storage and transport settings, which internal/cluster
// keeps unexported. TestRaftParamsMatchCluster reads them from that
// package's source and fails when these copies drift.
const (
	snapshotThreshold = 8192
	snapshotInterval  = 30 * time.Second
	trailingLogs      = 10240
	snapshotsRetained = 2
	logCacheSize      = 512
	transportMaxPool  = 3
	transportTimeout  = 10 * time.Second
)

// podlingTiming returns cluster.DefaultTiming with the defaults that
// cluster.Open fills in, so the baseline runs with Podling's timeouts.
func podlingTiming() cluster.Timing {
	t := cluster.DefaultTiming
	t.LeaderLease = min(t.LeaderLease, t.Heartbeat)
	return t
}

// raftConfig returns the Raft configuration a master uses, for the server
// id.
func raftConfig(id string) *raft.Config {
	timing := podlingTiming()
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(id)
	rc.HeartbeatTimeout = timing.Heartbeat
	rc.ElectionTimeout = timing.Election
	rc.LeaderLeaseTimeout = timing.LeaderLease
	rc.SnapshotThreshold = snapshotThreshold
	rc.SnapshotInterval = snapshotInterval
	rc.TrailingLogs = trailingLogs
	return rc
}
