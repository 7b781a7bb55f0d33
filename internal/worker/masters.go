package worker

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/podling/podling/internal/types"
)

// errNoMasterResponded means every master failed with a connection error
// or a 5xx response during one round.
var errNoMasterResponded = errors.New("no master responded")

// masterClient sends requests to a list of masters. It tries them in turn,
// starting with the one that responded last, and moves on to the next one
// on a connection error or a 5xx response. It is safe for concurrent use.
type masterClient struct {
	urls       []string
	token      string
	http       *http.Client
	timeout    time.Duration
	minBackoff time.Duration
	maxBackoff time.Duration
	log        hclog.Logger

	preferred atomic.Int64 // index into urls of the master that responded last
}

func newMasterClient(cfg Config) *masterClient {
	urls := make([]string, len(cfg.Masters))
	for i, u := range cfg.Masters {
		urls[i] = strings.TrimRight(u, "/")
	}
	return &masterClient{
		urls:       urls,
		token:      cfg.Token,
		http:       &http.Client{Transport: masterTransport(cfg.MasterTLS)},
		timeout:    cfg.RequestTimeout,
		minBackoff: cfg.MinBackoff,
		maxBackoff: cfg.MaxBackoff,
		log:        cfg.Logger.Named("masters"),
	}
}

// maxReplyBytes is the largest response body read from a master.
const maxReplyBytes = 4 << 20

// masterReply is a master's response other than a 5xx.
type masterReply struct {
	master string
	status int
	// body is the response body, cut at maxReplyBytes.
	body []byte
	// message is the error text of a JSON error body, if there was one.
	message string
}

func (r masterReply) ok() bool { return r.status >= 200 && r.status < 300 }

// describe returns the status and, when the body had one, the message.
func (r masterReply) describe() string {
	if r.message == "" {
		return fmt.Sprintf("status %d", r.status)
	}
	return fmt.Sprintf("status %d: %s", r.status, r.message)
}

// roundError is a round in which no master responded with a status below 500.
type roundError struct {
	// retryAfter is the longest Retry-After a master sent, or zero.
	retryAfter time.Duration
	last       error
}

func (e *roundError) Error() string {
	return fmt.Sprintf("%s: %v", errNoMasterResponded, e.last)
}

func (e *roundError) Unwrap() []error { return []error{errNoMasterResponded, e.last} }

// sendOnce makes one round over the masters and returns the first response
// with a status below 500. It returns a *roundError when there was none, or
// the context's error.
func (m *masterClient) sendOnce(ctx context.Context, method, path string, body []byte) (masterReply, error) {
	return m.sendRound(ctx, method, path, body, m.timeout)
}

// sendRound is sendOnce with timeout bounding each request.
func (m *masterClient) sendRound(ctx context.Context, method, path string, body []byte, timeout time.Duration) (masterReply, error) {
	round := &roundError{}
	start := int(m.preferred.Load())
	for i := range m.urls {
		idx := (start + i) % len(m.urls)
		reply, retryAfter, err := m.sendTo(ctx, m.urls[idx], method, path, body, timeout)
		if ctx.Err() != nil {
			return masterReply{}, ctx.Err()
		}
		if err == nil {
			m.preferred.Store(int64(idx))
			return reply, nil
		}
		round.last = err
		round.retryAfter = max(round.retryAfter, retryAfter)
		m.log.Debug("master request failed, trying next master", "master", m.urls[idx], "path", path, "error", err)
	}
	return masterReply{}, round
}

// sendTo sends one request to one master. A 5xx response is returned as an
// error together with its Retry-After delay.
func (m *masterClient) sendTo(ctx context.Context, base, method, path string, body []byte, timeout time.Duration) (masterReply, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := m.newRequest(ctx, method, base+path, body)
	if err != nil {
		return masterReply{}, 0, err
	}
	resp, err := m.http.Do(req)
	if err != nil {
		return masterReply{}, 0, fmt.Errorf("%s %s: %w", method, base+path, err)
	}
	defer resp.Body.Close()

	data, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes))
	if err != nil {
		return masterReply{}, 0, fmt.Errorf("%s %s: read response: %w", method, base+path, err)
	}
	reply := masterReply{master: base, status: resp.StatusCode, body: data, message: errorMessage(data)}
	if resp.StatusCode >= 500 {
		retryAfter := parseRetryAfter(resp.Header.Get("Retry-After"))
		return masterReply{}, retryAfter, fmt.Errorf("%s %s: %s", method, base+path, reply.describe())
	}
	return reply, 0, nil
}

func (m *masterClient) newRequest(ctx context.Context, method, url string, body []byte) (*http.Request, error) {
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, reader)
	if err != nil {
		return nil, fmt.Errorf("build request %s %s: %w", method, url, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if m.token != "" {
		req.Header.Set("Authorization", "Bearer "+m.token)
	}
	return req, nil
}

// sendUntil repeats sendOnce, pausing with growing backoff between rounds,
// until a master responds with a status for which done returns true, or ctx
// ends. It returns that response, or the context's error.
func (m *masterClient) sendUntil(ctx context.Context, method, path string, body []byte, done func(status int) bool) (masterReply, error) {
	return m.sendUntilWithin(ctx, method, path, body, done, m.timeout)
}

// sendUntilWithin is sendUntil with timeout bounding each request, for
// requests that take longer than RequestTimeout to serve.
func (m *masterClient) sendUntilWithin(ctx context.Context, method, path string, body []byte, done func(status int) bool, timeout time.Duration) (masterReply, error) {
	backoff := m.minBackoff
	for attempt := 1; ; attempt++ {
		reply, err := m.sendRound(ctx, method, path, body, timeout)
		if err == nil && done(reply.status) {
			return reply, nil
		}
		if ctx.Err() != nil {
			return masterReply{}, ctx.Err()
		}

		pause := m.pauseAfter(err, backoff)
		m.logRetry(method, path, attempt, reply, err, pause)
		if err := sleep(ctx, pause); err != nil {
			return masterReply{}, err
		}
		backoff = min(2*backoff, m.maxBackoff)
	}
}

// pauseAfter returns the jittered backoff, or the masters' Retry-After when
// that is longer, never more than maxBackoff.
func (m *masterClient) pauseAfter(err error, backoff time.Duration) time.Duration {
	pause := backoff/2 + rand.N(backoff/2+1)
	var round *roundError
	if errors.As(err, &round) && round.retryAfter > pause {
		pause = round.retryAfter
	}
	return min(pause, m.maxBackoff)
}

func (m *masterClient) logRetry(method, path string, attempt int, reply masterReply, err error, pause time.Duration) {
	if err != nil {
		m.log.Warn("no master accepted request, retrying", "method", method, "path", path,
			"attempt", attempt, "retry_in", pause, "error", err)
		return
	}
	m.log.Warn("master rejected request, retrying", "method", method, "path", path, "master", reply.master,
		"status", reply.status, "attempt", attempt, "retry_in", pause, "error", reply.message)
}

// errorMessage returns the error text of a JSON error body, or the start
// of any other body.
func errorMessage(data []byte) string {
	var apiErr types.Error
	if json.Unmarshal(data, &apiErr) == nil && apiErr.Error != "" {
		return apiErr.Error
	}
	text := strings.TrimSpace(string(data))
	if len(text) > 200 {
		text = text[:200]
	}
	return text
}

// parseRetryAfter reads a Retry-After header given in seconds; an HTTP
// date or an invalid value yields zero.
func parseRetryAfter(value string) time.Duration {
	seconds, err := strconv.Atoi(strings.TrimSpace(value))
	if err != nil || seconds < 0 {
		return 0
	}
	return time.Duration(seconds) * time.Second
}

// sleep pauses for d or until ctx ends, and then returns ctx's error.
func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// masterTransport returns the transport for calls to masters, with the
// given TLS configuration when there is one.
func masterTransport(tlsConfig *tls.Config) http.RoundTripper {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tlsConfig
	return transport
}
