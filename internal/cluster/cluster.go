// Package cluster runs one master's Raft member: the TCP transport, the
// bolt log and stable stores, file snapshots, bootstrap, leadership events,
// the single propose path and the read barrier that linearizable reads use.
package cluster

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/podling/podling/fsm"
	"github.com/podling/podling/internal/coalesce"
)

// Errors returned by Node methods. The API maps each of them to an HTTP
// status in one table.
var (
	// ErrNotLeader: this master is not the leader, so it cannot propose.
	ErrNotLeader = errors.New("not the leader")
	// ErrNoLeader: no leader is known right now, typically during an election.
	ErrNoLeader = errors.New("no leader known")
	// ErrLeadershipLost: leadership was lost while a command was in flight.
	// The command may still be committed by the next leader.
	ErrLeadershipLost = errors.New("leadership lost before the command was committed; it may still be applied")
	// ErrTimeout: the command or barrier did not finish in time.
	ErrTimeout = errors.New("timed out waiting for the cluster")
	// ErrTooLarge: the encoded command exceeds MaxCommandSize.
	ErrTooLarge = errors.New("command too large")
	// ErrShutdown: the node is shutting down.
	ErrShutdown = errors.New("raft is shut down")
)

// MaxCommandSize is the largest encoded command Propose accepts. API bodies
// are limited to 1 MiB, and a command adds the leader's IDs and times.
const MaxCommandSize = 2 << 20

// Peer is one founding member of a cluster.
type Peer struct {
	ID      string
	Address string
}

// ParsePeers parses a list of the form `id=host:port,id=host:port`.
func ParsePeers(list string) ([]Peer, error) {
	var peers []Peer
	seen := map[string]bool{}
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		id, addr, ok := strings.Cut(item, "=")
		if !ok || id == "" || addr == "" {
			return nil, fmt.Errorf("invalid peer %q: expected id=host:port", item)
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("invalid peer %q: %w", item, err)
		}
		if seen[id] {
			return nil, fmt.Errorf("invalid peers: id %q is listed twice", id)
		}
		seen[id] = true
		peers = append(peers, Peer{ID: id, Address: addr})
	}
	return peers, nil
}

// Timing holds the Raft timeouts. Zero fields take DefaultTiming's values.
type Timing struct {
	Heartbeat   time.Duration
	Election    time.Duration
	LeaderLease time.Duration
	Apply       time.Duration
}

// DefaultTiming suits masters on one LAN. A follower suspects the leader
// after 500 ms to 1 s without contact (Raft randomizes within twice the
// heartbeat timeout), so a crashed leader is replaced in about one second.
// Pre-vote keeps a follower that merely lagged from disturbing a healthy
// leader, which makes the short timeout safe under load.
var DefaultTiming = Timing{
	Heartbeat:   500 * time.Millisecond,
	Election:    500 * time.Millisecond,
	LeaderLease: 250 * time.Millisecond,
	Apply:       5 * time.Second,
}

// Config configures a Node.
type Config struct {
	ID string
	// BindAddr is the Raft listen address; Advertise, when set, is the
	// address other members dial instead.
	BindAddr  string
	Advertise string
	DataDir   string
	// Peers bootstraps a new cluster with these founders. Empty means a
	// single-node cluster of this master alone. Ignored when DataDir already
	// holds Raft state.
	Peers []Peer
	// ObserveApply, when set, is called with the time each successful
	// Propose took, for metrics.
	ObserveApply func(command string, took time.Duration)
	// Join, when set, skips the bootstrap: the master waits to be added to
	// a running cluster.
	Join   bool
	FSM    *fsm.FSM
	Logger hclog.Logger
	Timing Timing
	// Network, when set, carries the Raft traffic instead of plain TCP, so
	// tests can cut this master off from others. Nil in production.
	Network *Network
}

// Node is one master's Raft member.
type Node struct {
	id         string
	raft       *raft.Raft
	fsm        *fsm.FSM
	store      *raftboltdb.BoltStore
	transport  *raft.NetworkTransport
	timing     Timing
	leadership *leadership
	hadState   bool
	// batches turns concurrent proposals into shared log entries.
	batches *batcher
	// verifications coalesces concurrent leadership checks.
	verifications coalesce.Group[struct{}]
	// observeApply is Config.ObserveApply.
	observeApply func(command string, took time.Duration)
	logger       hclog.Logger
}

// Open starts the Raft member and bootstraps a new cluster when DataDir
// holds no state yet.
func Open(cfg Config) (*Node, error) {
	cfg.Timing = cfg.Timing.withDefaults()
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	logger := cfg.Logger.Named("raft")
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}

	n := &Node{id: cfg.ID, fsm: cfg.FSM, timing: cfg.Timing, logger: cfg.Logger.Named("cluster"), leadership: newLeadership(), observeApply: cfg.ObserveApply}
	if err := n.openStores(cfg, logger); err != nil {
		return nil, err
	}
	if err := n.startRaft(cfg, logger); err != nil {
		n.closeStores()
		return nil, err
	}
	n.batches = newBatcher(func(data []byte) raft.ApplyFuture { return n.raft.Apply(data, n.timing.Apply) })
	n.batches.start()
	go n.watchLeadership()
	return n, nil
}

func (t Timing) withDefaults() Timing {
	if t.Heartbeat == 0 {
		t.Heartbeat = DefaultTiming.Heartbeat
	}
	if t.Election == 0 {
		t.Election = DefaultTiming.Election
	}
	if t.LeaderLease == 0 {
		t.LeaderLease = min(DefaultTiming.LeaderLease, t.Heartbeat)
	}
	if t.Apply == 0 {
		t.Apply = DefaultTiming.Apply
	}
	return t
}

func (n *Node) openStores(cfg Config, logger hclog.Logger) error {
	store, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(cfg.DataDir, "raft.db")})
	if err != nil {
		return fmt.Errorf("open bolt store in %s: %w", cfg.DataDir, err)
	}
	n.store = store

	advertise, err := advertiseAddr(cfg)
	if err != nil {
		n.closeStores()
		return err
	}
	transport, err := newTransport(cfg, advertise, logger)
	if err != nil {
		n.closeStores()
		return fmt.Errorf("listen for raft on %s: %w", cfg.BindAddr, err)
	}
	n.transport = transport
	return nil
}

// advertiseAddr returns the address other members dial. Without an
// explicit advertise address, a bind address with no host is advertised
// under this machine's host name.
func advertiseAddr(cfg Config) (net.Addr, error) {
	addr := cfg.Advertise
	if addr == "" {
		host, port, err := net.SplitHostPort(cfg.BindAddr)
		if err != nil {
			return nil, fmt.Errorf("invalid raft address %q: %w", cfg.BindAddr, err)
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			if host, err = os.Hostname(); err != nil {
				return nil, fmt.Errorf("find host name to advertise: %w", err)
			}
		}
		addr = net.JoinHostPort(host, port)
	}
	tcp, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("resolve raft advertise address %q: %w", addr, err)
	}
	return tcp, nil
}

func (n *Node) closeStores() {
	if n.transport != nil {
		_ = n.transport.Close()
	}
	if n.store != nil {
		_ = n.store.Close()
	}
}
