package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/podling/podling/fsm"
	"github.com/podling/podling/internal/auth"
	"github.com/podling/podling/internal/cluster"
	"github.com/podling/podling/internal/forward"
)

// Errors raised by the API layer itself.
var (
	// errBodyTooLarge: the request body exceeds the configured limit.
	errBodyTooLarge = errors.New("request body too large")
	// errNotReady: this master is leader but has not yet applied the
	// entries of earlier terms.
	errNotReady = errors.New("leader is still catching up after its election")
)

// InputError is a request that failed validation. Field names the JSON
// field or query parameter at fault.
type InputError struct {
	Field   string
	Message string
}

func (e *InputError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return fmt.Sprintf("%s: %s", e.Field, e.Message)
}

func invalid(field, format string, args ...any) error {
	return &InputError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// errorStatus is the one table from errors to HTTP responses. The first
// matching row wins.
var errorStatus = []struct {
	target error
	status int
	code   string
}{
	{auth.ErrUnauthenticated, http.StatusUnauthorized, "unauthenticated"},
	{auth.ErrForbidden, http.StatusForbidden, "forbidden"},
	{errBodyTooLarge, http.StatusRequestEntityTooLarge, "too_large"},
	{cluster.ErrTooLarge, http.StatusRequestEntityTooLarge, "too_large"},
	{errRouteNotFound, http.StatusNotFound, "not_found"},
	{errMethodNotAllowed, http.StatusMethodNotAllowed, "method_not_allowed"},
	{fsm.ErrNotFound, http.StatusNotFound, "not_found"},
	{cluster.ErrUnknownMember, http.StatusNotFound, "not_found"},
	{fsm.ErrAlreadyExists, http.StatusConflict, "already_exists"},
	{fsm.ErrIllegalTransition, http.StatusConflict, "illegal_transition"},
	{fsm.ErrConflict, http.StatusConflict, "conflict"},
	{fsm.ErrIdempotencyMismatch, http.StatusUnprocessableEntity, "idempotency_key_reused"},
	{fsm.ErrInsufficientResources, http.StatusConflict, "insufficient_resources"},
	{errNotStarted, http.StatusConflict, "not_started"},
	{errWorkerUnavailable, http.StatusServiceUnavailable, "worker_unavailable"},
	{cluster.ErrNotLeader, http.StatusServiceUnavailable, "no_leader"},
	{cluster.ErrNoLeader, http.StatusServiceUnavailable, "no_leader"},
	{forward.ErrNoLeader, http.StatusServiceUnavailable, "no_leader"},
	{errNotReady, http.StatusServiceUnavailable, "no_leader"},
	{errNotReadyToServe, http.StatusServiceUnavailable, "not_ready"},
	{cluster.ErrLeadershipLost, http.StatusServiceUnavailable, "outcome_unknown"},
	{forward.ErrOutcomeUnknown, http.StatusServiceUnavailable, "outcome_unknown"},
	{cluster.ErrTimeout, http.StatusServiceUnavailable, "timeout"},
	{cluster.ErrShutdown, http.StatusServiceUnavailable, "shutting_down"},
	{context.DeadlineExceeded, http.StatusServiceUnavailable, "timeout"},
	{context.Canceled, http.StatusServiceUnavailable, "canceled"},
}

// statusOf returns the HTTP status and error code for err.
func statusOf(err error) (int, string) {
	var input *InputError
	if errors.As(err, &input) {
		return http.StatusBadRequest, "invalid_argument"
	}
	for _, row := range errorStatus {
		if errors.Is(err, row.target) {
			return row.status, row.code
		}
	}
	return http.StatusInternalServerError, "internal"
}
