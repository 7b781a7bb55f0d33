package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// countingFSM is the baseline's state machine: it only counts entries, so
// the baseline measures Raft, its stores and its transport alone.
type countingFSM struct{ applied atomic.Uint64 }

func (f *countingFSM) Apply(*raft.Log) any {
	f.applied.Add(1)
	return nil
}

func (f *countingFSM) Snapshot() (raft.FSMSnapshot, error) {
	return countSnapshot(f.applied.Load()), nil
}

func (f *countingFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	var buf [8]byte
	if _, err := io.ReadFull(rc, buf[:]); err != nil {
		return fmt.Errorf("read counting snapshot: %w", err)
	}
	f.applied.Store(binary.BigEndian.Uint64(buf[:]))
	return nil
}

type countSnapshot uint64

func (s countSnapshot) Persist(sink raft.SnapshotSink) error {
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], uint64(s))
	if _, err := sink.Write(buf[:]); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("write counting snapshot: %w", err)
	}
	return sink.Close()
}

func (countSnapshot) Release() {}

// bareNode is one member of the baseline cluster, with the stores,
// snapshot store and transport a master uses.
type bareNode struct {
	id        string
	dir       string
	addr      string
	store     *raftboltdb.BoltStore
	transport *raft.NetworkTransport
	raft      *raft.Raft
}

// BareCluster is a three-member hashicorp/raft cluster in this process,
// configured like Podling's masters.
type BareCluster struct {
	nodes   []*bareNode
	servers []raft.Server
}

// StartBareCluster opens three members under root, bootstraps them and
// waits for a leader.
func StartBareCluster(ctx context.Context, root string) (*BareCluster, error) {
	c := &BareCluster{}
	for i := range 3 {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		id := fmt.Sprintf("r%d", i+1)
		c.nodes = append(c.nodes, &bareNode{id: id, dir: filepath.Join(root, id), addr: addr})
		c.servers = append(c.servers, raft.Server{ID: raft.ServerID(id), Address: raft.ServerAddress(addr)})
	}
	for _, n := range c.nodes {
		if err := n.open(c.servers); err != nil {
			c.Close()
			return nil, err
		}
	}
	if _, err := c.waitLeader(ctx, nil); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// open starts the member, bootstrapping the cluster when its directory
// holds no Raft state yet.
func (n *bareNode) open(servers []raft.Server) error {
	if err := os.MkdirAll(n.dir, 0o750); err != nil {
		return fmt.Errorf("create %s: %w", n.dir, err)
	}
	store, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(n.dir, "raft.db")})
	if err != nil {
		return fmt.Errorf("open bolt store of %s: %w", n.id, err)
	}
	n.store = store
	if err := n.startRaft(servers); err != nil {
		n.closeStores()
		return err
	}
	return nil
}

func (n *bareNode) startRaft(servers []raft.Server) error {
	logger := hclog.NewNullLogger()
	snaps, err := raft.NewFileSnapshotStoreWithLogger(filepath.Join(n.dir, "snapshots"), snapshotsRetained, logger)
	if err != nil {
		return fmt.Errorf("open snapshot store of %s: %w", n.id, err)
	}
	logs, err := raft.NewLogCache(logCacheSize, n.store)
	if err != nil {
		return fmt.Errorf("create log cache of %s: %w", n.id, err)
	}

	transport, err := raft.NewTCPTransportWithLogger(n.addr, nil, transportMaxPool, transportTimeout, logger)
	if err != nil {
		return fmt.Errorf("listen for raft of %s on %s: %w", n.id, n.addr, err)
	}
	n.transport = transport

	existing, err := raft.HasExistingState(logs, n.store, snaps)
	if err != nil {
		return fmt.Errorf("check raft state of %s: %w", n.id, err)
	}
	rc := raftConfig(n.id)
	rc.Logger = logger
	r, err := raft.NewRaft(rc, &countingFSM{}, logs, n.store, snaps, transport)
	if err != nil {
		return fmt.Errorf("start raft %s: %w", n.id, err)
	}
	n.raft = r

	if existing {
		return nil
	}
	if err := r.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil {
		return fmt.Errorf("bootstrap %s: %w", n.id, err)
	}
	return nil
}

// stop shuts the member down as a crash would look to the others: no
// leadership transfer, its connections closed.
func (n *bareNode) stop() {
	if n.raft != nil {
		_ = n.raft.Shutdown().Error()
		n.raft = nil
	}
	n.closeStores()
}

func (n *bareNode) closeStores() {
	if n.transport != nil {
		_ = n.transport.Close()
		n.transport = nil
	}
	if n.store != nil {
		_ = n.store.Close()
		n.store = nil
	}
}

// Close stops every member.
func (c *BareCluster) Close() {
	for _, n := range c.nodes {
		n.stop()
	}
}

// waitLeader polls the running members other than skip until one is the
// leader.
func (c *BareCluster) waitLeader(ctx context.Context, skip *bareNode) (*bareNode, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ticker := time.NewTicker(time.Millisecond)
	defer ticker.Stop()
	for {
		for _, n := range c.nodes {
			if n != skip && n.raft != nil && n.raft.State() == raft.Leader {
				return n, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no bare raft leader elected: %w", ctx.Err())
		case <-ticker.C:
		}
	}
}

// Apply proposes data on the current leader and waits for it to commit.
func (c *BareCluster) Apply(ctx context.Context, data []byte) error {
	leader, err := c.waitLeader(ctx, nil)
	if err != nil {
		return err
	}
	return leader.raft.Apply(data, podlingTiming().Apply).Error()
}

// MeasureApply runs clients closed-loop clients that each apply 256-byte
// commands for window.
func (c *BareCluster) MeasureApply(ctx context.Context, clients int, window time.Duration) (Summary, error) {
	leader, err := c.waitLeader(ctx, nil)
	if err != nil {
		return Summary{}, err
	}
	timeout := podlingTiming().Apply
	summary := RunClosedLoop(ctx, clients, window, func(_ context.Context, worker, seq int) error {
		data := make([]byte, 256)
		binary.BigEndian.PutUint64(data, uint64(worker)<<32|uint64(seq))
		return leader.raft.Apply(data, timeout).Error()
	})
	return summary, nil
}

// MeasureFailover shuts the leader down, times until another member is
// leader and has committed an entry, then restarts the stopped member and
// waits until it has caught up.
func (c *BareCluster) MeasureFailover(ctx context.Context) (time.Duration, error) {
	old, err := c.waitLeader(ctx, nil)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	old.stop()
	if err := c.applyAfterElection(ctx, old); err != nil {
		return 0, err
	}
	took := time.Since(start)
	if err := old.open(c.servers); err != nil {
		return 0, fmt.Errorf("restart %s: %w", old.id, err)
	}
	return took, c.waitCaughtUp(ctx, old)
}

// applyAfterElection retries one Apply on whichever member other than old
// leads, until one succeeds.
func (c *BareCluster) applyAfterElection(ctx context.Context, old *bareNode) error {
	deadline := time.Now().Add(30 * time.Second)
	data := make([]byte, 256)
	for attempt := 0; time.Now().Before(deadline); attempt++ {
		leader, err := c.waitLeader(ctx, old)
		if err != nil {
			return err
		}
		err = leader.raft.Apply(data, time.Second).Error()
		if err == nil {
			return nil
		}
		if !errors.Is(err, raft.ErrNotLeader) && !errors.Is(err, raft.ErrLeadershipLost) {
			return fmt.Errorf("apply after failover: %w", err)
		}
	}
	return errors.New("no entry committed within 30s of the leader stopping")
}

// waitCaughtUp polls until n has applied everything the leader had
// committed when the wait began.
func (c *BareCluster) waitCaughtUp(ctx context.Context, n *bareNode) error {
	leader, err := c.waitLeader(ctx, nil)
	if err != nil {
		return err
	}
	target := leader.raft.CommitIndex()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ticker := time.NewTicker(5 * time.Millisecond)
	defer ticker.Stop()
	for n.raft.AppliedIndex() < target {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not catch up to index %d: %w", n.id, target, ctx.Err())
		case <-ticker.C:
		}
	}
	return nil
}
