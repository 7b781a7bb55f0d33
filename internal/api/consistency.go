package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/podling/podling/internal/cluster"
	"github.com/podling/podling/internal/forward"
)

// writeFunc handles a write on the leader. body is the request body,
// already read and checked against the size limit.
type writeFunc func(r *http.Request, body []byte) (reply, error)

// leaderOnly serves a write on the leader and forwards it from a follower.
// A request that was already forwarded once is never forwarded again.
func (s *Server) leaderOnly(h writeFunc) http.Handler {
	return s.leaderOnlyLimit(s.maxBody, h)
}

// leaderOnlyLimit is leaderOnly with its own limit on the body size.
func (s *Server) leaderOnlyLimit(limit int64, h writeFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r, limit)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if s.raft.IsLeader() {
			s.adapt(func(r *http.Request) (reply, error) { return s.serveOnLeader(r, body, h) })(w, r)
			return
		}
		if by := r.Header.Get(forward.ForwardedHeader); by != "" {
			s.writeError(w, r, fmt.Errorf("%w: request forwarded by %s reached a follower", cluster.ErrNotLeader, by))
			return
		}
		err = s.forwarder.Forward(w, r, body)
		s.metrics.Forwarded(forwardOutcome(err))
		if errors.Is(err, forward.ErrLeaderIsSelf) {
			s.adapt(func(r *http.Request) (reply, error) { return s.serveOnLeader(r, body, h) })(w, r)
			return
		}
		if err != nil {
			s.writeError(w, r, err)
		}
	})
}

func (s *Server) serveOnLeader(r *http.Request, body []byte, h writeFunc) (reply, error) {
	if err := s.waitLeaderReady(r.Context()); err != nil {
		return reply{}, err
	}
	return h(r, body)
}

// waitLeaderReady waits, up to the ready wait, for a new leader to apply
// every entry of earlier terms.
func (s *Server) waitLeaderReady(ctx context.Context) error {
	deadline := time.Now().Add(s.readyWait)
	for !s.raft.LeaderReady() {
		if !s.raft.IsLeader() {
			return cluster.ErrNotLeader
		}
		if time.Now().After(deadline) {
			return errNotReady
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

// linearizable serves a read after making sure this master's state
// includes every write acknowledged before the read began, unless the
// client asked for ?stale=true.
//
// With ?minIndex=N the read is served locally once this master has applied
// index N, waiting up to the read timeout, so a client can read its own
// write from any master without involving the leader.
func (s *Server) linearizable(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.readConsistency(w, r); err != nil {
			s.writeError(w, r, err)
			return
		}
		w.Header().Set(IndexHeader, strconv.FormatUint(s.state.AppliedIndex(), 10))
		next.ServeHTTP(w, r)
	})
}

// readConsistency brings this master's state to the consistency the read
// requests, or returns why it cannot.
func (s *Server) readConsistency(w http.ResponseWriter, r *http.Request) error {
	stale, err := queryBool(r, "stale")
	if err != nil {
		return err
	}
	minIndex, err := queryIndex(r, "minIndex")
	if err != nil {
		return err
	}
	switch {
	case minIndex > 0:
		w.Header().Set(LastContactHeader, s.lastContact())
		return s.waitApplied(r.Context(), minIndex)
	case stale:
		w.Header().Set(LastContactHeader, s.lastContact())
		return nil
	}
	return s.readBarrier(r)
}

func (s *Server) waitApplied(ctx context.Context, index uint64) error {
	ctx, cancel := context.WithTimeout(ctx, s.readWait)
	defer cancel()
	if err := s.state.WaitForIndex(ctx, index); err != nil {
		return fmt.Errorf("%w: %w", cluster.ErrTimeout, err)
	}
	return nil
}

func queryIndex(r *http.Request, name string) (uint64, error) {
	raw := r.URL.Query().Get(name)
	if raw == "" {
		return 0, nil
	}
	v, err := strconv.ParseUint(raw, 10, 64)
	if err != nil {
		return 0, invalid(name, "expected a log index, a whole number, got %q", truncate(raw))
	}
	return v, nil
}

// readBarrier implements read-index. The leader confirms its leadership
// with a quorum. A follower requests the leader's applied index and waits
// until it has applied as much itself.
func (s *Server) readBarrier(r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), s.readWait)
	defer cancel()
	var index uint64
	var err error
	if !s.raft.IsLeader() {
		index, err = s.forwarder.ReadIndex(ctx, r.Header.Get("Authorization"))
	}
	if s.raft.IsLeader() || errors.Is(err, forward.ErrLeaderIsSelf) {
		index, err = s.leaderReadIndex(ctx)
	}
	if err != nil {
		return err
	}
	return s.waitApplied(ctx, index)
}

// leaderReadIndex returns the index a linearizable read must see. Every
// write this leader acknowledged was applied here first, and the
// post-election barrier covers the writes of earlier leaders.
func (s *Server) leaderReadIndex(ctx context.Context) (uint64, error) {
	if err := s.waitLeaderReady(ctx); err != nil {
		return 0, err
	}
	if err := s.raft.VerifyLeader(); err != nil {
		return 0, err
	}
	return s.state.AppliedIndex(), nil
}

// readIndex serves followers' read-index requests. Only the leader serves them.
func (s *Server) readIndex(r *http.Request) (reply, error) {
	if !s.raft.IsLeader() {
		return reply{}, cluster.ErrNotLeader
	}
	index, err := s.leaderReadIndex(r.Context())
	if err != nil {
		return reply{}, err
	}
	return reply{status: http.StatusOK, body: map[string]uint64{"index": index}, index: index}, nil
}

// lastContact returns how long ago this master last heard from the leader,
// as a Go duration, or "never".
func (s *Server) lastContact() string {
	if s.raft.IsLeader() {
		return "0s"
	}
	last := s.raft.Status().LastContact
	if last.IsZero() {
		return "never"
	}
	return time.Since(last).Round(time.Millisecond).String()
}

func queryBool(r *http.Request, name string) (bool, error) {
	raw := r.URL.Query().Get(name)
	if raw == "" {
		return false, nil
	}
	v, err := strconv.ParseBool(raw)
	if err != nil {
		return false, invalid(name, "expected a boolean such as true or false, got %q", truncate(raw))
	}
	return v, nil
}

func invalidRoute(r *http.Request) error {
	return fmt.Errorf("no route for %s %s: %w", r.Method, r.URL.Path, errRouteNotFound)
}

func notAllowed(r *http.Request) error {
	return fmt.Errorf("method %s is not allowed on %s: %w", r.Method, r.URL.Path, errMethodNotAllowed)
}

var (
	errRouteNotFound    = errors.New("not found")
	errMethodNotAllowed = errors.New("method not allowed")
)

// forwardOutcome names the outcome of a forward for metrics.
func forwardOutcome(err error) string {
	switch {
	case err == nil:
		return "relayed"
	case errors.Is(err, forward.ErrLeaderIsSelf):
		return "served_here"
	case errors.Is(err, forward.ErrOutcomeUnknown):
		return "outcome_unknown"
	}
	return "no_leader"
}
