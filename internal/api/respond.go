package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/podling/podling/internal/types"
)

// Response headers beyond the ones package forward defines.
const (
	// IndexHeader carries the Raft index a write committed at, or the index
	// a read was served at.
	IndexHeader = "X-Podling-Index"
	// LeaderHeader names the leader this master currently follows.
	LeaderHeader = "X-Podling-Leader"
	// LastContactHeader, on stale reads, contains how long ago this master last
	// heard from the leader.
	LastContactHeader = "X-Podling-Last-Contact"
)

// retryAfterSeconds is sent with every 503, which during an election is
// usually over within a couple of seconds.
const retryAfterSeconds = "1"

// reply is the success result of a handler.
type reply struct {
	status int
	body   any
	index  uint64 // written to IndexHeader when non-zero
}

// handlerFunc is the shape of every API handler: it returns a reply or an
// error, and the adapter writes either.
type handlerFunc func(r *http.Request) (reply, error)

func (s *Server) adapt(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rep, err := h(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if rep.index != 0 {
			w.Header().Set(IndexHeader, strconv.FormatUint(rep.index, 10))
		}
		writeJSON(w, rep.status, rep.body)
	}
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body) // the client has gone if this fails
}

// writeError maps err to its status and writes the JSON error body. 5xx
// responses are logged at Error, others and requests the client abandoned at
// Debug.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, code := statusOf(err)
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", retryAfterSeconds)
	}
	if status >= 500 && !errors.Is(err, context.Canceled) {
		s.logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", status, "error", err)
	} else {
		s.logger.Debug("request rejected", "method", r.Method, "path", r.URL.Path, "status", status, "error", err)
	}
	writeJSON(w, status, types.Error{Error: err.Error(), Code: code})
}
