// Package forward sends requests that only the leader may serve from a
// follower to the leader's API, and relays the response unchanged. A request
// is forwarded at most once: the leader side never forwards a request that
// carries ForwardedHeader.
package forward

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/podling/podling/internal/coalesce"
)

// Headers set on forwarded requests and on every response.
const (
	// ForwardedHeader carries the ID of the master that forwarded a request.
	ForwardedHeader = "X-Podling-Forwarded-By"
	// ServedByHeader names the master that served a request.
	ServedByHeader = "X-Podling-Served-By"
)

// ReadIndexPath is the leader's endpoint that returns the index a
// linearizable read must wait for.
const ReadIndexPath = "/internal/v1/read-index"

// Errors returned by the forwarder.
var (
	// ErrNoLeader: no leader with a known API address could be found in
	// time, or it could not be reached, so the request was not delivered.
	ErrNoLeader = errors.New("no leader available")
	// ErrOutcomeUnknown: the request may have reached the leader, but no
	// response came back, so a write may or may not have been applied.
	ErrOutcomeUnknown = errors.New("no response from the leader; the request may have been applied")
	// ErrLeaderIsSelf: this master became leader while the request waited,
	// so the caller should serve it itself. Nothing was sent.
	ErrLeaderIsSelf = errors.New("this master is the leader")
)

// Cluster is the view of Raft the forwarder needs: this master's ID and the leader's.
type Cluster interface {
	ID() string
	IsLeader() bool
	Leader() string
}

// Addresses maps a master's Raft server ID to its API URL.
type Addresses interface {
	MasterAddress(serverID string) (string, bool)
}

// Forwarder relays requests to the leader. It is safe for concurrent use.
type Forwarder struct {
	cluster   Cluster
	addresses Addresses
	client    *http.Client
	// ElectionWait bounds how long a request waits for a leader to be known.
	electionWait time.Duration
	logger       hclog.Logger
	// authorization, when set, gives the Authorization header of this
	// master's own requests, such as publishing its address.
	authorization func() (string, error)
	// readIndexes coalesces concurrent read-index requests.
	readIndexes coalesce.Group[uint64]
}

// SetAuthorization makes Send present the header that fn returns.
func (f *Forwarder) SetAuthorization(fn func() (string, error)) { f.authorization = fn }

// New returns a forwarder. electionWait bounds how long a request waits for
// a leader during an election before it fails with ErrNoLeader.
func New(c Cluster, addresses Addresses, client *http.Client, electionWait time.Duration, logger hclog.Logger) *Forwarder {
	return &Forwarder{cluster: c, addresses: addresses, client: client, electionWait: electionWait, logger: logger.Named("forward")}
}

// LeaderURL returns the ID and API URL of the current leader, waiting up to
// the election wait for one to be known. It returns ErrLeaderIsSelf once
// this master is the leader, and ErrNoLeader when no other leader with a
// known address appears in time.
func (f *Forwarder) LeaderURL(ctx context.Context) (string, string, error) {
	ctx, cancel := context.WithTimeout(ctx, f.electionWait)
	defer cancel()
	for {
		id := f.cluster.Leader()
		if id != "" && id == f.cluster.ID() && f.cluster.IsLeader() {
			return "", "", ErrLeaderIsSelf
		}
		if id != "" && id != f.cluster.ID() {
			if addr, ok := f.addresses.MasterAddress(id); ok {
				return id, addr, nil
			}
		}
		select {
		case <-ctx.Done():
			return "", "", fmt.Errorf("%w (leader %q)", ErrNoLeader, id)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Forward sends r to the leader and copies the leader's response to w. The
// body must already be read into body, because it cannot be read twice.
func (f *Forwarder) Forward(w http.ResponseWriter, r *http.Request, body []byte) error {
	resp, leaderID, err := f.deliver(r.Context(), func(leaderURL string) (*http.Request, error) {
		out, err := http.NewRequestWithContext(r.Context(), r.Method, leaderURL+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		copyHeaders(out.Header, r.Header)
		return out, nil
	})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	copyHeaders(w.Header(), resp.Header)
	w.WriteHeader(resp.StatusCode)
	buf := relayBuffers.Get().(*[]byte)
	defer relayBuffers.Put(buf)
	if _, err := io.CopyBuffer(w, resp.Body, *buf); err != nil {
		f.logger.Warn("relaying the leader's response failed", "leader_id", leaderID, "error", err)
	}
	return nil
}

// relayBuffers is a pool of buffers that copy leaders' responses to
// clients. Without it, io.Copy allocates 32 KiB per forwarded request,
// because the API's status-recording writer is not an io.ReaderFrom.
var relayBuffers = sync.Pool{New: func() any {
	buf := make([]byte, 16<<10)
	return &buf
}}

// deliver sends a request built for the current leader and marked as
// forwarded. While the election wait lasts, a request whose connection
// could not be made is built and sent again, because it never reached a
// leader and the leader may be changing.
func (f *Forwarder) deliver(ctx context.Context, build func(leaderURL string) (*http.Request, error)) (*http.Response, string, error) {
	deadline := time.Now().Add(f.electionWait)
	for {
		leaderID, leaderURL, err := f.LeaderURL(ctx)
		if err != nil {
			return nil, "", err
		}
		req, err := build(leaderURL)
		if err != nil {
			return nil, leaderID, fmt.Errorf("build request for leader %s: %w", leaderID, err)
		}
		req.Header.Set(ForwardedHeader, f.cluster.ID())
		resp, err := f.client.Do(req)
		if err == nil {
			return resp, leaderID, nil
		}
		cause := deliveryError(err)
		if cause != ErrNoLeader || time.Now().After(deadline) || ctx.Err() != nil {
			return nil, leaderID, fmt.Errorf("%w: %s %s to leader %s at %s: %w", cause, req.Method, req.URL.Path, leaderID, leaderURL, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// deliveryError classifies a failed call: a failed dial never reached the
// leader, while any later failure may have happened after the leader acted.
func deliveryError(err error) error {
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return ErrNoLeader
	}
	return ErrOutcomeUnknown
}

// Send makes a request of this master's own to the leader, such as
// publishing its API address. It returns an error unless the leader
// responds with a 2xx status.
func (f *Forwarder) Send(ctx context.Context, method, path string, body []byte) error {
	resp, leaderID, err := f.deliver(ctx, func(leaderURL string) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, method, leaderURL+path, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		if f.authorization != nil {
			value, err := f.authorization()
			if err != nil {
				return nil, err
			}
			req.Header.Set("Authorization", value)
		}
		return req, nil
	})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("leader %s responded to %s %s with %d: %s", leaderID, method, path, resp.StatusCode, strings.TrimSpace(string(text)))
	}
	return nil
}

// hopHeaders apply to one connection only and are not relayed.
var hopHeaders = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Authenticate": true, "Proxy-Authorization": true,
	"Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true, "Content-Length": true,
}

// copyHeaders copies src to dst without the hop-by-hop headers: the fixed
// list above and every header that src's Connection header names
// (RFC 9110, section 7.6.1).
func copyHeaders(dst, src http.Header) {
	named := map[string]bool{}
	for _, value := range src.Values("Connection") {
		for _, name := range strings.Split(value, ",") {
			if name = strings.TrimSpace(name); name != "" {
				named[http.CanonicalHeaderKey(name)] = true
			}
		}
	}
	for key, values := range src {
		canonical := http.CanonicalHeaderKey(key)
		if hopHeaders[canonical] || named[canonical] {
			continue
		}
		dst[key] = append([]string(nil), values...)
	}
}

// readIndexAnswer is the body of the leader's read-index response.
type readIndexAnswer struct {
	Index uint64 `json:"index"`
}

// ReadIndex requests from the leader the index that a linearizable read must
// wait for. The caller's Authorization header is passed on.
//
// Concurrent calls that send the same Authorization share one request to
// the leader, sent after they called. With a token source set, the
// forwarder's own token is sent, so every read shares it; the caller was
// authenticated before its read got here.
func (f *Forwarder) ReadIndex(ctx context.Context, authorization string) (uint64, error) {
	if f.authorization != nil {
		own, err := f.authorization()
		if err != nil {
			return 0, err
		}
		authorization = own
	}
	return f.readIndexes.Do(ctx, authorization, func() (uint64, error) {
		// The call serves many callers, so it is bounded by the election
		// wait rather than by one caller's context.
		callCtx, cancel := context.WithTimeout(context.Background(), f.electionWait+readIndexTimeout)
		defer cancel()
		return f.readIndexOnce(callCtx, authorization)
	})
}

// readIndexTimeout bounds a read-index request once it is sent.
const readIndexTimeout = 5 * time.Second

func (f *Forwarder) readIndexOnce(ctx context.Context, authorization string) (uint64, error) {
	resp, leaderID, err := f.deliver(ctx, func(leaderURL string) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, leaderURL+ReadIndexPath, nil)
		if err == nil && authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		return req, err
	})
	if errors.Is(err, ErrOutcomeUnknown) {
		return 0, fmt.Errorf("%w: %w", ErrNoLeader, err) // a lost read changes nothing
	}
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return decodeReadIndex(resp, leaderID)
}

func decodeReadIndex(resp *http.Response, leaderID string) (uint64, error) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return 0, fmt.Errorf("%w: read index from leader %s: %w", ErrNoLeader, leaderID, err)
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%w: leader %s responded to read index with %d: %s", ErrNoLeader, leaderID, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	var answer readIndexAnswer
	if err := json.Unmarshal(body, &answer); err != nil {
		return 0, fmt.Errorf("%w: decode read index from leader %s: %w", ErrNoLeader, leaderID, err)
	}
	return answer.Index, nil
}
