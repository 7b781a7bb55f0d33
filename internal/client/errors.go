package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/podling/podling/internal/types"
)

// ErrUnreachable is wrapped by the error of a call that no master
// responded to: every connection failed or timed out.
var ErrUnreachable = errors.New("no master reachable")

// ErrOutcomeUnknown is wrapped by the error of a call that is not safe to
// repeat and whose connection broke after the request was sent: it may or
// may not have been applied.
var ErrOutcomeUnknown = errors.New("the request may or may not have been applied")

// APIError is an error response of a master: its HTTP status and the
// code and message of its JSON body.
type APIError struct {
	Status  int
	Code    string
	Message string
	// Master is the URL of the master that responded.
	Master string
	// RetryAfter is the wait the master asked for, if any.
	RetryAfter time.Duration
}

// Error returns the message followed by the code, or by the HTTP status
// when the response has no code.
func (e *APIError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("%s (HTTP %d)", e.Message, e.Status)
	}
	return fmt.Sprintf("%s (%s)", e.Message, e.Code)
}

// UnreachableError lists why each master could not be reached in the
// last round of tries. It matches ErrUnreachable with errors.Is.
type UnreachableError struct {
	Failures []error
}

// Error names every master's failure.
func (e *UnreachableError) Error() string {
	parts := make([]string, len(e.Failures))
	for i, f := range e.Failures {
		parts[i] = f.Error()
	}
	return ErrUnreachable.Error() + ": " + strings.Join(parts, "; ")
}

// Is makes errors.Is(err, ErrUnreachable) true.
func (e *UnreachableError) Is(target error) bool { return target == ErrUnreachable }

// Unwrap returns the failures, so errors.Is finds their causes.
func (e *UnreachableError) Unwrap() []error { return e.Failures }

// AsAPIError returns the APIError in err's chain, if any.
func AsAPIError(err error) (*APIError, bool) {
	var apiErr *APIError
	ok := errors.As(err, &apiErr)
	return apiErr, ok
}

func hasStatus(err error, status int) bool {
	e, ok := AsAPIError(err)
	return ok && e.Status == status
}

func hasCode(err error, code string) bool {
	e, ok := AsAPIError(err)
	return ok && e.Code == code
}

// IsNotFound reports a 404: an unknown ID or route.
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// IsInvalid reports a 400: input the master refused.
func IsInvalid(err error) bool { return hasStatus(err, http.StatusBadRequest) }

// IsUnauthenticated reports a 401: a missing, expired or bad token.
func IsUnauthenticated(err error) bool { return hasStatus(err, http.StatusUnauthorized) }

// IsForbidden reports a 403: the token's role may not make the call.
func IsForbidden(err error) bool { return hasStatus(err, http.StatusForbidden) }

// IsConflict reports a 409 of any code: an illegal transition, a name in
// use, logs of work that has not started.
func IsConflict(err error) bool { return hasStatus(err, http.StatusConflict) }

// IsAlreadyExists reports a 409 already_exists.
func IsAlreadyExists(err error) bool { return hasCode(err, "already_exists") }

// IsUnavailable reports a 503: no leader, a timeout, a worker that could
// not be reached.
func IsUnavailable(err error) bool { return hasStatus(err, http.StatusServiceUnavailable) }

// IsUnreachable reports that no master could be reached.
func IsUnreachable(err error) bool { return errors.Is(err, ErrUnreachable) }

// maxErrorBody is the most bytes of an error response that are read.
const maxErrorBody = 64 << 10

// readAPIError turns an error response into an APIError and closes its
// body.
func readAPIError(resp *http.Response, master string) *APIError {
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &APIError{Status: resp.StatusCode, Master: master, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"))}
	var body types.Error
	if json.Unmarshal(data, &body) == nil && body.Error != "" {
		e.Message, e.Code = body.Error, body.Code
		return e
	}
	e.Message = strings.TrimSpace(string(data))
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}

// parseRetryAfter reads a Retry-After header in seconds or as an HTTP
// date; anything else is no wait.
func parseRetryAfter(value string) time.Duration {
	if value == "" {
		return 0
	}
	if seconds, err := strconv.Atoi(value); err == nil && seconds > 0 {
		return time.Duration(seconds) * time.Second
	}
	if at, err := http.ParseTime(value); err == nil {
		return max(time.Until(at), 0)
	}
	return 0
}
