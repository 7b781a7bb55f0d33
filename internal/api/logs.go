package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/podling/podling/fsm"
	"github.com/podling/podling/internal/types"
)

// Log limits, matching the worker's.
const (
	defaultLogTail = 100
	maxLogTail     = 10000
)

// errNotStarted: the task or pod has no container yet, so it has no logs.
var errNotStarted = errors.New("not started")

// taskLogs relays a task container's logs from the worker that runs it, so
// a client never needs a worker's address.
func (s *Server) taskLogs(w http.ResponseWriter, r *http.Request) {
	task, err := s.taskFrom(r)
	if err == nil && task.NodeID == "" {
		err = fmt.Errorf("task %s is %s and has no container yet: %w", task.TaskID, task.Status, errNotStarted)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.relayLogs(w, r, task.NodeID, "/api/v1/tasks/"+task.TaskID+"/logs", url.Values{})
}

// podLogs relays one pod container's logs from the worker that runs it.
func (s *Server) podLogs(w http.ResponseWriter, r *http.Request) {
	pod, err := s.podFrom(r)
	if err == nil && pod.NodeID == "" {
		err = fmt.Errorf("pod %s is %s and has no containers yet: %w", pod.PodID, pod.Status, errNotStarted)
	}
	query := url.Values{}
	if err == nil {
		err = addContainerParam(query, r, pod)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.relayLogs(w, r, pod.NodeID, "/api/v1/pods/"+pod.PodID+"/logs", query)
}

func addContainerParam(query url.Values, r *http.Request, pod types.Pod) error {
	name := r.URL.Query().Get("container")
	if name == "" {
		return nil // the worker picks the only container or names the choices
	}
	for _, c := range pod.Containers {
		if c.Name == name {
			query.Set("container", name)
			return nil
		}
	}
	return invalid("container", "pod %s has no container %q", pod.PodID, truncate(name))
}

// relayLogs checks tail and follow, opens the worker's log stream and
// copies it to the client, flushing as it goes so a followed log arrives
// line by line.
func (s *Server) relayLogs(w http.ResponseWriter, r *http.Request, nodeID, path string, query url.Values) {
	if err := addLogParams(query, r); err != nil {
		s.writeError(w, r, err)
		return
	}
	node, ok := s.state.Node(nodeID)
	if !ok {
		s.writeError(w, r, fmt.Errorf("node %s: %w", nodeID, fsm.ErrNotFound))
		return
	}
	resp, err := s.workers.Logs(r.Context(), node, path, query)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("%w: %w", errWorkerUnavailable, err))
		return
	}
	defer resp.Body.Close()
	w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	w.WriteHeader(resp.StatusCode)
	copyFlushing(w, resp.Body)
}

func addLogParams(query url.Values, r *http.Request) error {
	q := r.URL.Query()
	tail := defaultLogTail
	if raw := q.Get("tail"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > maxLogTail {
			return invalid("tail", "must be a whole number from 1 to %d, got %q", maxLogTail, truncate(raw))
		}
		tail = n
	}
	follow, err := queryBool(r, "follow")
	if err != nil {
		return err
	}
	query.Set("tail", strconv.Itoa(tail))
	query.Set("follow", strconv.FormatBool(follow))
	return nil
}

func copyFlushing(w http.ResponseWriter, body io.Reader) {
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		// Send the status and headers now. A followed log may stay quiet
		// for a long time, and the client must not wait for them until then.
		flusher.Flush()
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		if err != nil {
			return
		}
	}
}
