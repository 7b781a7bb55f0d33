package worker

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/podling/podling/internal/auth"
	"github.com/podling/podling/internal/runtime"
	"github.com/podling/podling/internal/types"
)

// handlerFunc is an HTTP handler whose returned error writeError sends.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (w *Worker) newServer() *http.Server {
	return &http.Server{
		Handler:           w.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
}

func (w *Worker) routes() http.Handler {
	r := mux.NewRouter()
	r.Handle("/health", w.handle(w.handleHealth)).Methods(http.MethodGet)
	if w.cfg.Metrics != nil {
		metricsHandler := w.cfg.Metrics.Handler()
		r.Handle("/metrics", w.handle(func(rw http.ResponseWriter, req *http.Request) error {
			metricsHandler.ServeHTTP(rw, req)
			return nil
		})).Methods(http.MethodGet)
	}
	r.Handle("/api/v1/tasks/{id}/execute", w.handle(w.handleExecute)).Methods(http.MethodPost)
	r.Handle("/api/v1/tasks/{id}/status", w.handle(w.handleStatus)).Methods(http.MethodGet)
	r.Handle("/api/v1/tasks/{id}/logs", w.handle(w.handleLogs)).Methods(http.MethodGet)
	r.Handle("/api/v1/pods/{id}/execute", w.handle(w.handleExecutePod)).Methods(http.MethodPost)
	r.Handle("/api/v1/pods/{id}/status", w.handle(w.handlePodStatus)).Methods(http.MethodGet)
	r.Handle("/api/v1/pods/{id}/logs", w.handle(w.handlePodLogs)).Methods(http.MethodGet)
	r.Handle("/api/v1/pods/{id}", w.handle(w.handleDeletePod)).Methods(http.MethodDelete)

	r.NotFoundHandler = w.handle(func(http.ResponseWriter, *http.Request) error {
		return newAPIError(http.StatusNotFound, codeNotFound, "no such endpoint")
	})
	r.MethodNotAllowedHandler = w.handle(func(_ http.ResponseWriter, req *http.Request) error {
		return newAPIError(http.StatusMethodNotAllowed, codeMethodNotAllowed, "method %s is not allowed here", req.Method)
	})
	return r
}

func (w *Worker) handle(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		err := w.authenticate(r)
		if err == nil {
			err = fn(rw, r)
		}
		if err != nil {
			writeError(rw, r, w.log, err)
		}
	})
}

// authenticate accepts a call when authentication is off, the path is
// /health, or the call carries a valid admin token, which masters present.
func (w *Worker) authenticate(r *http.Request) error {
	if w.cfg.Verifier == nil || r.URL.Path == "/health" {
		return nil
	}
	token, err := auth.FromRequest(r)
	if err != nil {
		return newAPIError(http.StatusUnauthorized, "unauthenticated", "%v", err)
	}
	claims, err := w.cfg.Verifier.Verify(token)
	if err != nil {
		return newAPIError(http.StatusUnauthorized, "unauthenticated", "%v", err)
	}
	if claims.Role != auth.RoleAdmin {
		return newAPIError(http.StatusForbidden, "forbidden", "role %s may not call the worker API; masters use admin tokens", claims.Role)
	}
	return nil
}

// pathTaskID returns the validated task ID from the request path.
func pathTaskID(r *http.Request) (string, error) {
	id := mux.Vars(r)["id"]
	if err := runtime.ValidateTaskID(id); err != nil {
		return "", newAPIError(http.StatusBadRequest, codeInvalidTaskID, "invalid task id in path: %v", err)
	}
	return id, nil
}

func (w *Worker) handleHealth(rw http.ResponseWriter, _ *http.Request) error {
	writeJSON(rw, http.StatusOK, map[string]any{
		"status":     "ok",
		"nodeId":     w.cfg.NodeID,
		"registered": w.registered.Load(),
	})
	return nil
}

// handleExecute accepts a task. A dispatch whose term is lower than one
// already accepted for the task is rejected with 409 and the code
// stale_term. For a task this worker already has a container for, it
// responds 200 with Started false. For a new one it
// responds 202 once the start attempt has finished or the request ended,
// whichever comes first. A failed start is reported to the masters, not in
// this response.
func (w *Worker) handleExecute(rw http.ResponseWriter, r *http.Request) error {
	id, err := pathTaskID(r)
	if err != nil {
		return err
	}
	var req types.ExecuteRequest
	if err := decodeJSON(rw, r, &req); err != nil {
		return err
	}
	if err := validateExecute(id, req.Task); err != nil {
		return err
	}
	if err := w.tasks.accept(id, dispatch{term: req.Term, index: req.Index}); err != nil {
		w.log.Info("rejected stale task dispatch", "task_id", id, "term", req.Term, "index", req.Index, "error", err)
		return err
	}

	t, started, err := w.execute(r.Context(), req.Task, req.Term)
	if err != nil {
		return err
	}
	select {
	case <-t.started:
	case <-r.Context().Done():
	}
	status := http.StatusOK
	if started {
		status = http.StatusAccepted
	}
	writeJSON(rw, status, types.ExecuteResponse{TaskID: id, ContainerID: t.snapshot().ContainerID, Started: started})
	return nil
}

func validateExecute(pathID string, task types.Task) error {
	if task.TaskID != pathID {
		return newAPIError(http.StatusBadRequest, codeInvalidRequest,
			"task.taskId %q does not match task id %q in path", task.TaskID, pathID)
	}
	if task.Image == "" {
		return newAPIError(http.StatusBadRequest, codeInvalidRequest, "task.image is required")
	}
	return nil
}

// execute returns the task's record, starting its container unless the
// worker already tracks the task or the runtime already has a container for
// it. started is true when this call started the task.
func (w *Worker) execute(ctx context.Context, spec types.Task, term uint64) (t *task, started bool, err error) {
	if t, ok := w.tasks.get(spec.TaskID); ok {
		return t, false, nil
	}
	c, err := w.rt.Find(ctx, spec.TaskID)
	if err == nil {
		w.adopt(c)
		t, _ := w.tasks.get(spec.TaskID)
		return t, false, nil
	}
	if !errors.Is(err, runtime.ErrNotFound) {
		return nil, false, err
	}

	t, added := w.tasks.add(newTask(spec.TaskID, spec.Image))
	if added {
		w.log.Info("executing task", "task_id", spec.TaskID, "image", spec.Image, "term", term)
		w.goFollow(t, func(ctx context.Context) {
			w.runTask(ctx, t, runtime.Spec{TaskID: spec.TaskID, Name: spec.Name, Image: spec.Image, Env: spec.Env})
		})
	}
	return t, added, nil
}

func (w *Worker) handleStatus(rw http.ResponseWriter, r *http.Request) error {
	id, err := pathTaskID(r)
	if err != nil {
		return err
	}
	if t, ok := w.tasks.get(id); ok {
		writeJSON(rw, http.StatusOK, t.snapshot())
		return nil
	}
	c, err := w.findContainer(r.Context(), id)
	if err != nil {
		return err
	}
	status, exitCode, message := statusOf(c)
	writeJSON(rw, http.StatusOK, types.WorkerTaskStatus{
		TaskID: id, Status: status, ContainerID: c.ID, ExitCode: exitCode, Message: message,
	})
	return nil
}

// findContainer looks the task's container up in the runtime and turns
// runtime.ErrNotFound into a 404.
func (w *Worker) findContainer(ctx context.Context, taskID string) (runtime.Container, error) {
	c, err := w.rt.Find(ctx, taskID)
	if errors.Is(err, runtime.ErrNotFound) {
		return c, newAPIError(http.StatusNotFound, codeNotFound, "no container for task %s on this worker", taskID)
	}
	return c, err
}

// handleLogs streams the task container's output as plain text: the last
// tail lines, and new output as it comes when follow is true.
func (w *Worker) handleLogs(rw http.ResponseWriter, r *http.Request) error {
	id, err := pathTaskID(r)
	if err != nil {
		return err
	}
	opts, err := parseLogOptions(r)
	if err != nil {
		return err
	}
	c, err := w.findContainer(r.Context(), id)
	if err != nil {
		return err
	}
	return w.streamLogs(rw, r, c.ID, opts, w.log.With("task_id", id))
}
