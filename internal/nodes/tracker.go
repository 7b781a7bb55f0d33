// Package nodes keeps worker liveness on the leader: in-memory last-seen
// times from heartbeats, their batched replication, and the expiry of nodes
// that fall silent.
//
// Only transitions and one batch of last-seen times per interval reach the
// log, so Raft traffic does not grow with the number of workers. A master
// that has just become leader gives every node a full TTL from the moment
// it took over before it may expire any node, because heartbeats that the
// previous leader received never reached this master's memory.
package nodes

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/podling/podling/fsm"
	"github.com/podling/podling/internal/cluster"
	"github.com/podling/podling/internal/types"
)

// Proposer is the cluster's propose path and leadership check.
type Proposer interface {
	Propose(ctx context.Context, cmd fsm.Command) (cluster.Result, error)
	IsLeader() bool
}

// NodeLister lists the replicated nodes.
type NodeLister interface {
	Nodes() []types.Node
}

// Config configures a Tracker.
type Config struct {
	Raft  Proposer
	State NodeLister
	// TTL is the silence after which a node is declared offline.
	TTL time.Duration
	// BatchInterval is how often last-seen times are written to the log and
	// expiry is checked.
	BatchInterval time.Duration
	Logger        hclog.Logger
	// Now is the leader's clock; nil means time.Now.
	Now func() time.Time
}

// Tracker records heartbeats and, while Run is active, replicates them and
// expires silent nodes. Observe is safe to call at any time.
type Tracker struct {
	cfg    Config
	logger hclog.Logger

	lastSeen map[string]time.Time // newest heartbeat per node, in memory
	flushed  map[string]time.Time // value last written to the log
	mu       sync.Mutex
}

// New returns a tracker.
func New(cfg Config) *Tracker {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Tracker{
		cfg: cfg, logger: cfg.Logger.Named("nodes"),
		lastSeen: make(map[string]time.Time), flushed: make(map[string]time.Time),
	}
}

// Observe records a heartbeat from a node at the given time.
func (t *Tracker) Observe(nodeID string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if at.After(t.lastSeen[nodeID]) {
		t.lastSeen[nodeID] = at
	}
}

// Run replicates last-seen times and expires silent nodes until ctx ends.
// The caller runs it only while this master is leader and cancels ctx the
// moment leadership is lost; every expiry re-checks leadership as well.
func (t *Tracker) Run(ctx context.Context) {
	takeover := t.cfg.Now()
	t.logger.Info("watching node liveness", "ttl", t.cfg.TTL, "grace_until", takeover.Add(t.cfg.TTL))
	ticker := time.NewTicker(t.cfg.BatchInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			t.flush(ctx)
			t.expire(ctx, takeover)
		}
	}
}

// flush writes the last-seen times that changed since the previous batch
// as one log entry.
func (t *Tracker) flush(ctx context.Context) {
	t.mu.Lock()
	batch := make(map[string]time.Time)
	for id, seen := range t.lastSeen {
		if seen.After(t.flushed[id]) {
			batch[id] = seen
		}
	}
	t.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	if _, err := t.cfg.Raft.Propose(ctx, fsm.NodeHeartbeats{LastSeen: batch}); err != nil {
		t.logger.Warn("replicating heartbeat batch failed", "nodes", len(batch), "error", err)
		return
	}
	t.mu.Lock()
	maps.Copy(t.flushed, batch)
	t.mu.Unlock()
}

// expire takes offline every online node silent for longer than the TTL,
// counting silence from the takeover at the earliest.
func (t *Tracker) expire(ctx context.Context, takeover time.Time) {
	now := t.cfg.Now()
	for _, node := range t.cfg.State.Nodes() {
		if node.Status != types.NodeOnline || now.Sub(t.silentSince(node.NodeID, takeover)) <= t.cfg.TTL {
			continue
		}
		if ctx.Err() != nil || !t.cfg.Raft.IsLeader() {
			return
		}
		t.takeOffline(ctx, node.NodeID, now)
	}
}

func (t *Tracker) silentSince(nodeID string, takeover time.Time) time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	if seen := t.lastSeen[nodeID]; seen.After(takeover) {
		return seen
	}
	return takeover
}

func (t *Tracker) takeOffline(ctx context.Context, nodeID string, now time.Time) {
	cmd := fsm.SetNodeStatus{NodeID: nodeID, Status: types.NodeOffline, Time: now}
	if _, err := t.cfg.Raft.Propose(ctx, cmd); err != nil {
		t.logger.Warn("marking silent node offline failed", "node_id", nodeID, "error", err)
		return
	}
	t.logger.Warn("node missed heartbeats, marked offline", "node_id", nodeID, "ttl", t.cfg.TTL)
}
