// Package master wires one podling-master together: the state machine, the
// Raft member, the API server, and the loops that run only on the leader.
package master

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/podling/podling/fsm"
	"github.com/podling/podling/internal/api"
	"github.com/podling/podling/internal/auth"
	"github.com/podling/podling/internal/cluster"
	"github.com/podling/podling/internal/forward"
	"github.com/podling/podling/internal/metrics"
	"github.com/podling/podling/internal/nodes"
	"github.com/podling/podling/internal/scheduler"
	"github.com/podling/podling/internal/workerclient"
)

// Config configures a master.
type Config struct {
	ID string
	// HTTPAddr is the API listen address; AdvertiseHTTP, when set, is the
	// URL other masters forward to.
	HTTPAddr      string
	AdvertiseHTTP string
	RaftAddr      string
	RaftAdvertise string
	DataDir       string
	Peers         []cluster.Peer
	// Join is the API URL of a member of a running cluster. A master with
	// no state yet requests to be added through it.
	Join string
	// HeartbeatTTL is the silence after which a worker is declared lost.
	HeartbeatTTL time.Duration
	// HeartbeatBatch is how often the leader writes last-seen times to the
	// log; zero means one second.
	HeartbeatBatch time.Duration
	Timing         cluster.Timing
	Logger         hclog.Logger
	// Network, when set, carries this master's Raft traffic and its calls
	// to other masters (forwarding, read index, health checks), so tests
	// can cut masters off from each other. Nil means plain TCP.
	Network *cluster.Network
	// Keys, when set, turn authentication on: every API call but /health
	// and /ready needs a valid token, and this master presents tokens of
	// its own to other masters and to workers. Audience, when set, must be
	// in every token's aud claim.
	Keys     *auth.Keys
	Audience string
	// TLSCertFile and TLSKeyFile, when set, serve the API over TLS.
	// CAFile names the certificates that other masters' APIs are checked
	// against; empty means the system's.
	TLSCertFile, TLSKeyFile, CAFile string
}

// Master is one running podling-master.
type Master struct {
	cfg        Config
	logger     hclog.Logger
	fsm        *fsm.FSM
	node       *cluster.Node
	listener   net.Listener
	httpServer *http.Server
	advertise  string
	tracker    *nodes.Tracker
	dispatcher *scheduler.Dispatcher
	scheduler  *scheduler.Scheduler
	reconciler *scheduler.Reconciler
	forwarder  *forward.Forwarder
	tokens     *auth.TokenSource // nil with authentication off
	metrics    *metrics.Master
	tlsClient  *tls.Config // for calls to other masters; nil means the defaults
	workers    *workerclient.Client

	stopCtx context.Context // cancelled by Close
	stop    context.CancelFunc
	stopped sync.WaitGroup // API server and leadership watcher
	loops   sync.WaitGroup // leader-only loops
}

// Start opens the Raft member, starts serving the API and watches for
// leadership. It returns once the API is listening.
func Start(cfg Config) (*Master, error) {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.HeartbeatBatch == 0 {
		cfg.HeartbeatBatch = time.Second
	}
	m := &Master{cfg: cfg, logger: cfg.Logger, fsm: fsm.New(cfg.Logger)}
	m.metrics = metrics.NewMaster(metricsSource{m})
	if err := m.loadTLS(); err != nil {
		return nil, err
	}
	if err := m.listen(); err != nil {
		return nil, err
	}
	node, err := cluster.Open(cluster.Config{
		ID: cfg.ID, BindAddr: cfg.RaftAddr, Advertise: cfg.RaftAdvertise, DataDir: cfg.DataDir,
		Peers: cfg.Peers, Join: cfg.Join != "", FSM: m.fsm, Logger: cfg.Logger, Timing: cfg.Timing,
		ObserveApply: m.metrics.Applied,
		Network:      cfg.Network,
	})
	if err != nil {
		_ = m.listener.Close()
		return nil, err
	}
	m.node = node
	m.stopCtx, m.stop = context.WithCancel(context.Background())
	m.wire()
	m.serve()
	return m, nil
}

func (m *Master) listen() error {
	ln, err := net.Listen("tcp", m.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen for the API on %s: %w", m.cfg.HTTPAddr, err)
	}
	m.listener = ln
	if m.cfg.Network != nil {
		m.cfg.Network.Register(m.cfg.ID, ln.Addr().String())
	}
	m.advertise = m.cfg.AdvertiseHTTP
	if m.advertise == "" {
		m.advertise, err = advertiseURL(m.scheme(), ln.Addr())
		if err != nil {
			_ = ln.Close()
			return err
		}
	}
	return nil
}

// advertiseURL derives the API URL other masters use from the listener's
// address, naming this machine's host when it listens on all interfaces.
func advertiseURL(scheme string, addr net.Addr) (string, error) {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "", fmt.Errorf("parse API address %s: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		if host, err = os.Hostname(); err != nil {
			return "", fmt.Errorf("find host name to advertise: %w", err)
		}
	}
	return scheme + "://" + net.JoinHostPort(host, port), nil
}

func (m *Master) wire() {
	workerClient := &http.Client{Timeout: 30 * time.Second}
	m.tracker = nodes.New(nodes.Config{
		Raft: m.node, State: m.fsm, TTL: m.cfg.HeartbeatTTL, BatchInterval: m.cfg.HeartbeatBatch, Logger: m.logger,
	})
	m.workers = workerclient.New(workerClient)
	m.dispatcher = scheduler.NewDispatcher(m.node, m.workers, m.logger)
	m.dispatcher.SetMetrics(m.metrics)
	m.reconciler = scheduler.NewReconciler(m.node, m.fsm, m.workers, m.dispatcher, m.logger)
	m.scheduler = scheduler.New(scheduler.Config{Raft: m.node, State: m.fsm, Dispatcher: m.dispatcher, Logger: m.logger})

	m.forwarder = forward.New(m.node, m.fsm, m.peerClient(30*time.Second), 2*time.Second, m.logger)
	// Log streams may follow a container for as long as the client reads,
	// so calls made for clients are bounded by their contexts instead.
	streams := workerclient.New(&http.Client{})
	var verifier *auth.Verifier
	if m.cfg.Keys != nil {
		verifier = auth.NewVerifier(m.cfg.Keys, m.cfg.Audience)
		m.tokens = auth.NewTokenSource(m.cfg.Keys, auth.RoleAdmin, "master/"+m.cfg.ID, m.cfg.Audience, time.Hour)
		for _, c := range []interface{ SetAuthorization(func() (string, error)) }{m.forwarder, m.workers, streams} {
			c.SetAuthorization(m.tokens.Authorization)
		}
	}
	handler := api.New(api.Config{
		Raft: m.node, State: m.fsm, Forwarder: m.forwarder, Heartbeats: m.tracker, Workers: streams,
		Membership: m.node, Addresses: m.fsm, Peers: m.peerClient(0), Backup: m.fsm, Restorer: m.node,
		NodeRegistered: m.reconciler.NodeRegistered, Verifier: verifier, Metrics: m.metrics, Logger: m.logger,
	})
	m.httpServer = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
}

// peerClient returns a client for calls to other masters, which goes
// through the configured Network when there is one and trusts the
// configured CA. A zero timeout leaves each call to bound itself with its
// context.
func (m *Master) peerClient(timeout time.Duration) *http.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if m.cfg.Network != nil {
		transport.DialContext = m.cfg.Network.Dialer(m.cfg.ID)
	}
	transport.TLSClientConfig = m.tlsClient
	// Every concurrent forwarded request holds a connection to the leader;
	// keeping them idle between requests spares a TCP (and TLS) handshake
	// per request under load.
	transport.MaxIdleConns, transport.MaxIdleConnsPerHost = peerIdleConns, peerIdleConns
	return &http.Client{Timeout: timeout, Transport: transport}
}

// awaitHandover keeps the API up after a leadership transfer until this
// master follows the new leader and the others have heard from it. A write
// forwarded here meanwhile gets a 503 no_leader, safe to retry, whereas
// closing at once could drop it on a kept-alive connection with its
// outcome unknown.
func (m *Master) awaitHandover(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, handoverWait)
	defer cancel()
	for {
		if leader := m.node.Leader(); leader != "" && leader != m.cfg.ID {
			break
		}
		select {
		case <-ctx.Done():
			m.logger.Warn("timed out waiting to follow the new leader after the leadership transfer", "wait", handoverWait)
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
	select {
	case <-ctx.Done():
	case <-time.After(m.node.HeartbeatInterval()):
	}
}

// handoverWait bounds awaitHandover.
const handoverWait = 2 * time.Second

// peerIdleConns is how many idle connections to each other master are
// kept for reuse.
const peerIdleConns = 256

func (m *Master) serve() {
	if m.cfg.Join != "" && !m.node.HadState() {
		m.stopped.Add(1)
		go func() {
			defer m.stopped.Done()
			m.join(m.stopCtx)
		}()
	}
	m.stopped.Add(3)
	go func() {
		defer m.stopped.Done()
		if err := m.serveAPI(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.logger.Error("API server stopped", "error", err)
		}
	}()
	go func() {
		defer m.stopped.Done()
		m.watchLeadership()
	}()
	go func() {
		defer m.stopped.Done()
		m.publishAddress(m.stopCtx)
	}()
	m.logger.Info("master started", "id", m.cfg.ID, "api", m.advertise, "raft", m.cfg.RaftAddr)
}

// URL returns the API URL this master advertises to the others.
func (m *Master) URL() string { return m.advertise }

// FSM returns the master's replicated state, for tests and tools.
func (m *Master) FSM() *fsm.FSM { return m.fsm }

// Cluster returns the master's Raft member.
func (m *Master) Cluster() *cluster.Node { return m.node }

// Close stops the master. A leader first hands leadership to a caught-up
// follower, so that the cluster keeps accepting writes without waiting
// for an election timeout.
func (m *Master) Close(ctx context.Context) error {
	return m.shutdown(ctx, true)
}

// shutdown stops the master, handing over leadership first when handOver
// is set. Without it, the other masters observe the same as after a crash.
func (m *Master) shutdown(ctx context.Context, handOver bool) error {
	if handOver && m.node.IsLeader() && m.node.Voters() > 1 {
		if err := m.node.TransferLeadership(); err != nil {
			m.logger.Warn("leadership transfer before shutdown failed", "error", err)
		} else {
			m.awaitHandover(ctx)
		}
	}
	shutdownErr := m.httpServer.Shutdown(ctx)
	m.stop()
	raftErr := m.node.Shutdown()
	m.stopped.Wait()
	m.loops.Wait()
	m.dispatcher.Wait()
	return errors.Join(shutdownErr, raftErr)
}
