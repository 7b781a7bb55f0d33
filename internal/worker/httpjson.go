package worker

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/hashicorp/go-hclog"

	"github.com/podling/podling/internal/types"
)

// maxBodyBytes is the largest request body the worker API reads.
const maxBodyBytes = 1 << 20

// Error codes of the worker API, sent in types.Error.Code.
const (
	codeInvalidRequest   = "invalid_request"
	codeInvalidTaskID    = "invalid_task_id"
	codeInvalidPodID     = "invalid_pod_id"
	codeStaleTerm        = "stale_term"
	codeDeleting         = "deleting"
	codeNotFound         = "not_found"
	codeMethodNotAllowed = "method_not_allowed"
	codeBodyTooLarge     = "request_too_large"
	codeRuntime          = "runtime_error"
)

// apiError is an error with the HTTP status and code of its response.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.message }

func newAPIError(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// writeError responds with err as a JSON types.Error. An error that is not
// an *apiError becomes a 500 whose text is the error's. 5xx responses are
// logged at Error, 4xx at Debug.
func writeError(w http.ResponseWriter, r *http.Request, log hclog.Logger, err error) {
	apiErr := &apiError{status: http.StatusInternalServerError, code: codeRuntime, message: err.Error()}
	errors.As(err, &apiErr)

	if apiErr.status >= 500 {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "http_status", apiErr.status, "error", err)
	} else {
		log.Debug("request rejected", "method", r.Method, "path", r.URL.Path, "http_status", apiErr.status, "error", err)
	}
	writeJSON(w, apiErr.status, types.Error{Error: apiErr.message, Code: apiErr.code})
}

// writeJSON responds with status and v encoded as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeJSON decodes a request body of at most maxBodyBytes into v. Unknown
// fields and data after the JSON value are rejected with 400, a larger body
// with 413.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bodyError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		if err == nil {
			return newAPIError(http.StatusBadRequest, codeInvalidRequest, "invalid request body: unexpected data after the JSON value")
		}
		return bodyError(err)
	}
	return nil
}

func bodyError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return newAPIError(http.StatusRequestEntityTooLarge, codeBodyTooLarge,
			"request body is larger than %d bytes", tooLarge.Limit)
	}
	return newAPIError(http.StatusBadRequest, codeInvalidRequest, "invalid request body: %v", err)
}
