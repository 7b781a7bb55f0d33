// Package api serves the master's REST API: routing, input checks, the
// forwarding of writes to the leader, read consistency, and the mapping of
// errors to HTTP responses.
package api

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/hashicorp/go-hclog"

	"github.com/podling/podling/fsm"
	"github.com/podling/podling/internal/auth"
	"github.com/podling/podling/internal/cluster"
	"github.com/podling/podling/internal/forward"
	"github.com/podling/podling/internal/metrics"
	"github.com/podling/podling/internal/types"
)

// Raft is the part of the cluster member the API uses.
type Raft interface {
	ID() string
	IsLeader() bool
	LeaderReady() bool
	Leader() string
	Propose(ctx context.Context, cmd fsm.Command) (cluster.Result, error)
	VerifyLeader() error
	Status() cluster.Status
	Ready() (bool, string)
}

// State is the replicated state the API reads.
type State interface {
	Task(id string) (types.Task, bool)
	Tasks(filter fsm.TaskFilter) []types.Task
	Pod(id string) (types.Pod, bool)
	Pods(filter fsm.PodFilter) []types.Pod
	Service(id string) (types.Service, bool)
	Services(filter fsm.ServiceFilter) []types.Service
	Endpoints(serviceID string) (types.Endpoints, bool)
	LeaderChanges() []types.LeaderChange
	Node(id string) (types.Node, bool)
	Nodes() []types.Node
	AppliedIndex() uint64
	WaitForIndex(ctx context.Context, index uint64) error
}

// Workers is the part of the worker API that masters call on behalf of
// a request.
type Workers interface {
	DeletePod(ctx context.Context, node types.Node, podID string) error
	Logs(ctx context.Context, node types.Node, path string, query url.Values) (*http.Response, error)
}

// HeartbeatRecorder keeps the leader's in-memory last-seen times.
type HeartbeatRecorder interface {
	Observe(nodeID string, at time.Time)
}

// Config wires a Server.
type Config struct {
	Raft       Raft
	State      State
	Forwarder  *forward.Forwarder
	Heartbeats HeartbeatRecorder
	Workers    Workers
	// Membership and Addresses serve the cluster endpoints; Peers is the
	// client for health checks of other masters.
	Membership Membership
	Addresses  Addresses
	Peers      *http.Client
	Backup     Backup
	Restorer   Restorer
	// Verifier, when set, turns authentication on: every call but /health
	// and /ready needs a valid token whose role allows it.
	Verifier *auth.Verifier
	// Metrics, when set, records requests and is served on /metrics.
	Metrics *metrics.Master
	// NodeRegistered, when set, is called on the leader after a node
	// registers or comes back online, so its work can be checked.
	NodeRegistered func(nodeID string)
	Logger         hclog.Logger
	// MaxBodyBytes limits request bodies; zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// ReadTimeout bounds how long a linearizable read waits; zero means 5 s.
	ReadTimeout time.Duration
	// ReadyWait bounds how long a request waits for a new leader to finish
	// its post-election barrier; zero means 2 s.
	ReadyWait   time.Duration
	AuthEnabled bool
	// Now returns the leader's clock; nil means time.Now.
	Now func() time.Time
}

// Server is the master's HTTP API.
type Server struct {
	raft       Raft
	state      State
	forwarder  *forward.Forwarder
	heartbeats HeartbeatRecorder
	workers    Workers
	registered func(nodeID string)
	membership Membership
	addresses  Addresses
	peers      *http.Client
	backup     Backup
	restorer   Restorer
	verifier   *auth.Verifier
	metrics    *metrics.Master
	logger     hclog.Logger
	maxBody    int64
	readWait   time.Duration
	readyWait  time.Duration
	auth       bool
	now        func() time.Time
	router     *mux.Router
}

// New returns a Server with its routes registered.
func New(cfg Config) *Server {
	s := &Server{
		raft: cfg.Raft, state: cfg.State, forwarder: cfg.Forwarder, heartbeats: cfg.Heartbeats, workers: cfg.Workers, registered: cfg.NodeRegistered,
		membership: cfg.Membership, addresses: cfg.Addresses, peers: cfg.Peers, backup: cfg.Backup, restorer: cfg.Restorer,
		verifier: cfg.Verifier, metrics: cfg.Metrics,
		logger: cfg.Logger.Named("api"), maxBody: cfg.MaxBodyBytes, readWait: cfg.ReadTimeout,
		readyWait: cfg.ReadyWait, auth: cfg.AuthEnabled || cfg.Verifier != nil, now: cfg.Now,
	}
	s.setDefaults()
	s.router = s.routes()
	return s
}

func (s *Server) setDefaults() {
	if s.maxBody == 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.readWait == 0 {
		s.readWait = 5 * time.Second
	}
	if s.readyWait == 0 {
		s.readyWait = 2 * time.Second
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.registered == nil {
		s.registered = func(string) {}
	}
	if s.peers == nil {
		s.peers = &http.Client{Timeout: memberCheckTimeout}
	}
}

func (s *Server) routes() *mux.Router {
	// SkipClean keeps paths as sent, so an ID such as ../x fails the ID
	// check with a JSON error instead of being redirected.
	r := mux.NewRouter().SkipClean(true)
	r.NotFoundHandler = s.adapt(func(req *http.Request) (reply, error) {
		return reply{}, invalidRoute(req)
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Allow", strings.Join(allowedMethods(s.router, req), ", "))
		s.writeError(w, req, notAllowed(req))
	})

	r.Handle("/health", s.adapt(s.health)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/ready", s.adapt(s.ready)).Methods(http.MethodGet, http.MethodHead)
	if s.metrics != nil {
		r.Handle("/metrics", s.metrics.Handler()).Methods(http.MethodGet)
	}
	r.Use(s.observe)
	r.Handle(forward.ReadIndexPath, s.adapt(s.readIndex)).Methods(http.MethodGet)
	r.Handle(MastersPath+"/{serverId}", s.leaderOnly(s.setMasterAddress)).Methods(http.MethodPut)

	// The /api/v1 routes sit on the root router with their full paths. In a
	// PathPrefix subrouter of gorilla/mux v1.8.1, every later route matches
	// the shared prefix and so clears a method mismatch, which turns a 405
	// into a 404.
	const v1 = "/api/v1"
	r.Handle(v1+"/tasks", s.leaderOnly(s.createTask)).Methods(http.MethodPost)
	r.Handle(v1+"/tasks", s.linearizable(s.adapt(s.listTasks))).Methods(http.MethodGet)
	r.Handle(v1+"/tasks/{taskId}", s.linearizable(s.adapt(s.getTask))).Methods(http.MethodGet)
	r.Handle(v1+"/tasks/{taskId}/status", s.leaderOnly(s.updateTaskStatus)).Methods(http.MethodPut)
	r.Handle(v1+"/tasks/{taskId}/logs", s.linearizable(http.HandlerFunc(s.taskLogs))).Methods(http.MethodGet)

	r.Handle(v1+"/pods", s.leaderOnly(s.createPod)).Methods(http.MethodPost)
	r.Handle(v1+"/pods", s.linearizable(s.adapt(s.listPods))).Methods(http.MethodGet)
	r.Handle(v1+"/pods/{podId}", s.linearizable(s.adapt(s.getPod))).Methods(http.MethodGet)
	r.Handle(v1+"/pods/{podId}", s.leaderOnly(s.deletePod)).Methods(http.MethodDelete)
	r.Handle(v1+"/pods/{podId}/status", s.leaderOnly(s.updatePodStatus)).Methods(http.MethodPut)
	r.Handle(v1+"/pods/{podId}/logs", s.linearizable(http.HandlerFunc(s.podLogs))).Methods(http.MethodGet)

	r.Handle(v1+"/services", s.leaderOnly(s.createService)).Methods(http.MethodPost)
	r.Handle(v1+"/services", s.linearizable(s.adapt(s.listServices))).Methods(http.MethodGet)
	r.Handle(v1+"/services/{serviceId}", s.linearizable(s.adapt(s.getService))).Methods(http.MethodGet)
	r.Handle(v1+"/services/{serviceId}", s.leaderOnly(s.deleteService)).Methods(http.MethodDelete)
	r.Handle(v1+"/services/{serviceId}/endpoints", s.linearizable(s.adapt(s.getEndpoints))).Methods(http.MethodGet)

	r.Handle(v1+"/nodes/register", s.leaderOnly(s.registerNode)).Methods(http.MethodPost)
	r.Handle(v1+"/nodes/{nodeId}/heartbeat", s.leaderOnly(s.heartbeat)).Methods(http.MethodPost)
	r.Handle(v1+"/nodes/{nodeId}/drain", s.leaderOnly(s.drainNode)).Methods(http.MethodPost)
	r.Handle(v1+"/nodes/{nodeId}/uncordon", s.leaderOnly(s.uncordonNode)).Methods(http.MethodPost)
	r.Handle(v1+"/nodes/{nodeId}/leave", s.leaderOnly(s.leaveNode)).Methods(http.MethodPost)
	r.Handle(v1+"/nodes", s.linearizable(s.adapt(s.listNodes))).Methods(http.MethodGet)

	r.Handle(v1+"/cluster", s.adapt(s.clusterInfo)).Methods(http.MethodGet)
	r.Handle(v1+"/cluster/join", s.leaderOnly(s.joinCluster)).Methods(http.MethodPost)
	r.Handle(v1+"/cluster/members/{memberId}", s.leaderOnly(s.removeMember)).Methods(http.MethodDelete)
	r.Handle(v1+"/cluster/leadership/transfer", s.leaderOnly(s.transferLeadership)).Methods(http.MethodPost)
	r.Handle(v1+"/cluster/failovers", s.linearizable(s.adapt(s.failovers))).Methods(http.MethodGet)
	r.Handle(v1+"/cluster/snapshot", s.linearizable(http.HandlerFunc(s.saveSnapshot))).Methods(http.MethodGet)
	r.Handle(v1+"/cluster/snapshot/restore", s.leaderOnlyLimit(MaxSnapshotBytes, s.restoreSnapshot)).Methods(http.MethodPost)
	return r
}

// allowedMethods lists the methods the router serves on the request's path.
func allowedMethods(router *mux.Router, r *http.Request) []string {
	var allowed []string
	for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = method
		var match mux.RouteMatch
		if router.Match(probe, &match) && match.MatchErr == nil {
			allowed = append(allowed, method)
		}
	}
	return allowed
}

// ServeHTTP implements http.Handler. Every response names the master that
// served it and the leader it follows.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set(forward.ServedByHeader, s.raft.ID())
	if leader := s.raft.Leader(); leader != "" {
		w.Header().Set(LeaderHeader, leader)
	}
	if !s.authenticate(w, r) {
		return
	}
	s.router.ServeHTTP(w, r)
}

// Route is one method and path template the API serves.
type Route struct {
	Method string
	Path   string
}

// Routes lists every route the API serves, for documentation checks.
func (s *Server) Routes() []Route {
	var routes []Route
	_ = s.router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		path, err := route.GetPathTemplate()
		if err != nil {
			return nil
		}
		methods, err := route.GetMethods()
		if err != nil {
			return nil
		}
		for _, m := range methods {
			routes = append(routes, Route{Method: m, Path: path})
		}
		return nil
	})
	return routes
}
