package worker

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/podling/podling/internal/auth"
	"github.com/podling/podling/internal/metrics"
	"github.com/podling/podling/internal/runtime"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultPort              = 8081
	DefaultMaster            = "http://localhost:8070"
	DefaultHeartbeatInterval = 5 * time.Second
	DefaultCapacity          = 10
	DefaultRequestTimeout    = 10 * time.Second
	DefaultMinBackoff        = 250 * time.Millisecond
	DefaultMaxBackoff        = 10 * time.Second
	DefaultPauseImage        = "podling/pause:dev"
	DefaultStopGrace         = 5 * time.Second
	DefaultMinRestartBackoff = time.Second
	DefaultMaxRestartBackoff = 30 * time.Second
	DefaultLeaveTimeout      = 5 * time.Second
	DefaultDrainTimeout      = time.Minute
)

// Config configures a Worker.
type Config struct {
	// NodeID identifies this worker to the masters and labels its
	// containers. Registering again with the same ID is idempotent.
	NodeID string
	// Hostname and Port are where masters reach this worker's API. A zero
	// Port is replaced by the port the listener is bound to.
	Hostname string
	Port     int
	// ListenAddr is the address Run listens on; empty means ":<Port>".
	ListenAddr string
	// Masters are master or load-balancer base URLs, tried in turn.
	// Empty means DefaultMaster.
	Masters []string
	// Token, when set, is sent to masters as a bearer token.
	Token string
	// Verifier, when set, turns authentication on for the worker's own
	// API: every call but /health needs a valid admin token, which is what
	// masters present.
	Verifier *auth.Verifier
	// Metrics, when set, counts container starts, failures and probe
	// results, and is served on /metrics.
	Metrics *metrics.Worker
	// MasterTLS, when set, is the TLS configuration for calls to masters
	// whose API is served over TLS, such as a pool of trusted CAs.
	MasterTLS *tls.Config
	// HeartbeatInterval is the time between heartbeats.
	HeartbeatInterval time.Duration
	// Capacity is the number of tasks the worker offers to run at once.
	Capacity int
	// RequestTimeout bounds one request to one master.
	RequestTimeout time.Duration
	// MinBackoff and MaxBackoff bound the pause after a round in which no
	// master accepted a request; the pause doubles up to MaxBackoff.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// PauseImage is the image of every pod's sandbox container, which
	// keeps the pod's network namespace.
	PauseImage string
	// StopGrace is the time a pod container gets between SIGTERM and
	// SIGKILL when its pod is deleted or its liveness probe fails.
	StopGrace time.Duration
	// MinRestartBackoff and MaxRestartBackoff bound the delay before a
	// pod container that exited is restarted. The delay doubles with each
	// restart up to MaxRestartBackoff, and goes back to the minimum after
	// the container ran for restartBackoffReset.
	MinRestartBackoff time.Duration
	MaxRestartBackoff time.Duration
	// DrainOnExit makes a stopping worker drain its node, so the masters
	// move its pods elsewhere, instead of only leaving the cluster.
	DrainOnExit bool
	// LeaveTimeout bounds the leave request a stopping worker sends, over
	// all masters and retries.
	LeaveTimeout time.Duration
	// DrainTimeout bounds the drain request a stopping worker sends when
	// DrainOnExit is set, over all masters and retries.
	DrainTimeout time.Duration
	// Logger receives the worker's logs; nil discards them.
	Logger hclog.Logger
	// Runtime runs the containers. It is required.
	Runtime runtime.Runtime
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if len(c.Masters) == 0 {
		c.Masters = []string{DefaultMaster}
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if c.Capacity == 0 {
		c.Capacity = DefaultCapacity
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.PauseImage == "" {
		c.PauseImage = DefaultPauseImage
	}
	if c.StopGrace == 0 {
		c.StopGrace = DefaultStopGrace
	}
	if c.MinRestartBackoff == 0 {
		c.MinRestartBackoff = DefaultMinRestartBackoff
	}
	if c.MaxRestartBackoff == 0 {
		c.MaxRestartBackoff = DefaultMaxRestartBackoff
	}
	if c.LeaveTimeout == 0 {
		c.LeaveTimeout = DefaultLeaveTimeout
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = DefaultDrainTimeout
	}
	if c.Logger == nil {
		c.Logger = hclog.NewNullLogger()
	}
	if c.ListenAddr == "" {
		c.ListenAddr = ":" + strconv.Itoa(c.Port)
	}
	return c
}

// validate checks a Config that has its defaults applied.
func (c Config) validate() error {
	switch {
	case c.Runtime == nil:
		return errors.New("invalid worker config: runtime is required")
	case c.NodeID == "":
		return errors.New("invalid worker config: node id is required")
	case c.Hostname == "":
		return errors.New("invalid worker config: hostname is required")
	case c.Port < 0 || c.Port > 65535:
		return fmt.Errorf("invalid worker config: port %d is outside 0-65535", c.Port)
	case c.Capacity < 0:
		return fmt.Errorf("invalid worker config: capacity %d is negative", c.Capacity)
	case c.HeartbeatInterval < 0 || c.RequestTimeout < 0:
		return errors.New("invalid worker config: heartbeat interval and request timeout must be positive")
	case c.MinBackoff < 0 || c.MaxBackoff < c.MinBackoff:
		return fmt.Errorf("invalid worker config: backoff bounds %s and %s must be positive and ordered", c.MinBackoff, c.MaxBackoff)
	case c.MinRestartBackoff < 0 || c.MaxRestartBackoff < c.MinRestartBackoff:
		return fmt.Errorf("invalid worker config: restart backoff bounds %s and %s must be positive and ordered",
			c.MinRestartBackoff, c.MaxRestartBackoff)
	case c.StopGrace < 0:
		return fmt.Errorf("invalid worker config: stop grace %s is negative", c.StopGrace)
	case c.LeaveTimeout < 0 || c.DrainTimeout < 0:
		return fmt.Errorf("invalid worker config: leave timeout %s and drain timeout %s must be positive", c.LeaveTimeout, c.DrainTimeout)
	}
	return validateMasters(c.Masters)
}

func validateMasters(masters []string) error {
	for _, m := range masters {
		u, err := url.Parse(m)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("invalid worker config: master URL %q must be an absolute http or https URL", m)
		}
	}
	return nil
}
