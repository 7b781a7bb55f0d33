package worker

import (
	"io"
	"net/http"
	"strconv"

	"github.com/hashicorp/go-hclog"

	"github.com/podling/podling/internal/runtime"
)

// Limits of the logs endpoints' tail parameter.
const (
	defaultLogTail = 100
	maxLogTail     = 10000
)

// parseLogOptions reads the tail and follow query parameters of a logs
// request.
func parseLogOptions(r *http.Request) (runtime.LogOptions, error) {
	query := r.URL.Query()
	tail, err := parseTail(query["tail"])
	if err != nil {
		return runtime.LogOptions{}, err
	}
	follow, err := parseFollow(query["follow"])
	if err != nil {
		return runtime.LogOptions{}, err
	}
	return runtime.LogOptions{Tail: tail, Follow: follow}, nil
}

// parseTail reads the tail query parameter: absent means defaultLogTail,
// otherwise one integer from 1 to maxLogTail.
func parseTail(values []string) (int, error) {
	if len(values) == 0 {
		return defaultLogTail, nil
	}
	n, err := strconv.Atoi(values[0])
	if len(values) > 1 || err != nil || n < 1 || n > maxLogTail {
		return 0, newAPIError(http.StatusBadRequest, codeInvalidRequest,
			"invalid tail %q: must be one integer from 1 to %d", values[0], maxLogTail)
	}
	return n, nil
}

// parseFollow reads the follow query parameter: absent means false,
// otherwise one of true and false.
func parseFollow(values []string) (bool, error) {
	if len(values) == 0 {
		return false, nil
	}
	if len(values) > 1 || (values[0] != "true" && values[0] != "false") {
		return false, newAPIError(http.StatusBadRequest, codeInvalidRequest,
			"invalid follow %q: must be true or false, given once", values[0])
	}
	return values[0] == "true", nil
}

// streamLogs copies the container's output to the response as plain text.
// With opts.Follow each chunk is flushed as it arrives, and the stream
// ends when the container stops or the client goes away.
func (w *Worker) streamLogs(rw http.ResponseWriter, r *http.Request, containerID string, opts runtime.LogOptions, log hclog.Logger) error {
	logs, err := w.rt.Logs(r.Context(), containerID, opts)
	if err != nil {
		return err
	}
	defer logs.Close()

	rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
	var out io.Writer = rw
	if opts.Follow {
		// Send the header at once, so the client knows the stream is
		// open before the container writes anything.
		rw.Header().Set("X-Content-Type-Options", "nosniff")
		rw.WriteHeader(http.StatusOK)
		flusher := &flushWriter{w: rw, rc: http.NewResponseController(rw)}
		if err := flusher.rc.Flush(); err != nil {
			log.Debug("log stream ended early", "container_id", containerID, "error", err)
			return nil
		}
		out = flusher
	}
	if _, err := io.Copy(out, logs); err != nil && r.Context().Err() == nil {
		log.Debug("log stream ended early", "container_id", containerID, "error", err)
	}
	return nil
}

// flushWriter flushes the response after every write, so that a followed
// log reaches the client as it is written.
type flushWriter struct {
	w  io.Writer
	rc *http.ResponseController
}

func (f *flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err != nil {
		return n, err
	}
	return n, f.rc.Flush()
}
