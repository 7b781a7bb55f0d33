// Package client is the Go client of the Podling master API. A Client
// has a list of masters and tries them in turn, so a call succeeds as
// long as one master that can serve it responds.
package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// Defaults used when Options leave a value zero.
const (
	// DefaultMaster is the master tried when Options.Masters is empty.
	DefaultMaster = "http://localhost:8070"
	// DefaultTimeout bounds one call, every retry included.
	DefaultTimeout = 30 * time.Second
	// DefaultAttemptTimeout bounds one try at one master. It is longer
	// than the 5 s a master waits for ?minIndex= before it responds.
	DefaultAttemptTimeout = 10 * time.Second
)

// Retry timing: the wait after a round in which no master served a call
// starts at backoffBase, doubles each round up to backoffMax, and is
// never shorter than the Retry-After a master asked for, itself capped at
// maxRetryAfter.
const (
	backoffBase   = 100 * time.Millisecond
	backoffMax    = 2 * time.Second
	maxRetryAfter = 5 * time.Second
)

// Options configure a Client.
type Options struct {
	// Masters are the API URLs of the masters, or of a load balancer in
	// front of them, tried in turn. A URL without a scheme gets http://.
	// Empty means DefaultMaster.
	Masters []string
	// Token, when set, is sent on every call as Authorization: Bearer.
	Token string
	// CAFile names a PEM file of the certificates that https masters are
	// checked against, in place of the system's.
	CAFile string
	// Timeout bounds one call, retries across masters included, until
	// the response headers arrive. It does not cut a streamed body such
	// as followed logs or a snapshot. Zero means DefaultTimeout, and a
	// negative value means no limit. A deadline on the context applies too.
	Timeout time.Duration
	// AttemptTimeout bounds one try at one master, after which the next
	// master is tried. Zero means DefaultAttemptTimeout.
	AttemptTimeout time.Duration
}

// Client calls the master API. It is safe for concurrent use.
type Client struct {
	masters        []string
	token          string
	http           *http.Client
	timeout        time.Duration
	attemptTimeout time.Duration
	// preferred is the index of the master that responded last, where
	// calls start.
	preferred atomic.Int64
	// sleep waits between rounds; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
	// jitter spreads a wait of d; tests replace it.
	jitter func(d time.Duration) time.Duration
}

// New returns a client for the masters in opts.
func New(opts Options) (*Client, error) {
	masters, err := normalizeMasters(opts.Masters)
	if err != nil {
		return nil, err
	}
	transport, err := newTransport(opts.CAFile)
	if err != nil {
		return nil, err
	}
	c := &Client{
		masters: masters, token: opts.Token, http: &http.Client{Transport: transport},
		timeout: opts.Timeout, attemptTimeout: opts.AttemptTimeout,
		sleep: sleepContext, jitter: equalJitter,
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if c.attemptTimeout <= 0 {
		c.attemptTimeout = DefaultAttemptTimeout
	}
	return c, nil
}

// Masters returns the master URLs the client tries, in order.
func (c *Client) Masters() []string { return append([]string(nil), c.masters...) }

// normalizeMasters checks each URL and gives it a scheme when it has none.
func normalizeMasters(raw []string) ([]string, error) {
	var masters []string
	for _, m := range raw {
		m = strings.TrimSpace(m)
		if m == "" {
			continue
		}
		if !strings.Contains(m, "://") {
			m = "http://" + m
		}
		u, err := url.Parse(m)
		if err != nil {
			return nil, fmt.Errorf("master URL %q: %w", m, err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("master URL %q: want http://host:port or https://host:port", m)
		}
		masters = append(masters, strings.TrimRight(u.Scheme+"://"+u.Host+u.Path, "/"))
	}
	if len(masters) == 0 {
		masters = []string{DefaultMaster}
	}
	return masters, nil
}

// newTransport returns a transport that checks https masters against the
// certificates in caFile, or the system's when caFile is empty.
func newTransport(caFile string) (*http.Transport, error) {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Proxy = nil // masters are addressed directly
	if caFile == "" {
		return transport, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("invalid CA file " + caFile + ": no PEM certificate found")
	}
	transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return transport, nil
}

func sleepContext(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// equalJitter returns a wait between d/2 and d, so clients that failed
// together do not all come back at once.
func equalJitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(d-half)
}
