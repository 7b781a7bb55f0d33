package worker

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/go-hclog"

	"github.com/podling/podling/internal/runtime"
	"github.com/podling/podling/internal/types"
)

// runTask starts the task's container and follows it to its end. The
// task's started channel is closed once the outcome of the start is
// recorded, so an execute request waiting on it can include it in the response.
func (w *Worker) runTask(ctx context.Context, t *task, spec runtime.Spec) {
	log := w.log.With("task_id", t.id, "image", spec.Image)
	containerID, err := w.rt.Start(ctx, spec)
	if err != nil {
		failure := startFailure(err)
		w.cfg.Metrics.ContainerFailed("task", failure.Reason)
		t.update(failure)
		close(t.started)
		if ctx.Err() == nil {
			log.Error("failed to start container", "reason", failure.Reason, "error", err)
			w.report(ctx, t.id, failure)
		}
		return
	}

	log.Info("started container", "container_id", containerID)
	w.cfg.Metrics.ContainerStarted("task")
	t.update(types.TaskStatusUpdate{Status: types.TaskRunning, ContainerID: containerID})
	close(t.started)
	w.followContainer(ctx, t, containerID)
}

// startFailure builds the report for a container that could not be
// started. Runtime errors from Start name the image.
func startFailure(err error) types.TaskStatusUpdate {
	reason := types.ReasonContainerError
	if errors.Is(err, runtime.ErrImagePull) {
		reason = types.ReasonImagePullFailed
	}
	return types.TaskStatusUpdate{Status: types.TaskFailed, Reason: reason, Message: err.Error()}
}

// followContainer reports the task running, waits for its container to
// exit and reports the outcome. Reports go out in that order, each once
// the previous one was settled. It returns early when ctx ends, leaving
// the container as it is.
func (w *Worker) followContainer(ctx context.Context, t *task, containerID string) {
	w.report(ctx, t.id, types.TaskStatusUpdate{Status: types.TaskRunning, ContainerID: containerID})
	code, err := w.waitForExit(ctx, w.log.With("task_id", t.id), containerID)
	if ctx.Err() != nil {
		return
	}

	outcome := exitOutcome(containerID, code)
	if err != nil {
		outcome = types.TaskStatusUpdate{Status: types.TaskFailed, ContainerID: containerID,
			Reason: types.ReasonContainerError, Message: fmt.Sprintf("container %s disappeared: %v", containerID, err)}
	}
	w.log.Info("container exited", "task_id", t.id, "container_id", containerID,
		"status", outcome.Status, "exit_code", code)
	if outcome.Status == types.TaskFailed {
		w.cfg.Metrics.ContainerFailed("task", outcome.Reason)
	}
	t.update(outcome)
	w.report(ctx, t.id, outcome)
}

// exitOutcome builds the final report for a container that exited.
func exitOutcome(containerID string, code int) types.TaskStatusUpdate {
	if code == 0 {
		return types.TaskStatusUpdate{Status: types.TaskCompleted, ContainerID: containerID, ExitCode: &code}
	}
	return types.TaskStatusUpdate{Status: types.TaskFailed, ContainerID: containerID, ExitCode: &code,
		Reason: types.ReasonNonZeroExit, Message: exitMessage(code)}
}

// waitForExit returns the container's exit code. Errors other than a
// missing container are retried with backoff, because they usually mean the
// engine restarted. A missing container or the end of ctx returns the error.
// log carries the IDs of the task or pod the container belongs to.
func (w *Worker) waitForExit(ctx context.Context, log hclog.Logger, containerID string) (int, error) {
	backoff := w.cfg.MinBackoff
	for {
		code, err := w.rt.Wait(ctx, containerID)
		if err == nil || ctx.Err() != nil || errors.Is(err, runtime.ErrNotFound) {
			return code, err
		}
		log.Warn("failed to wait for container, retrying",
			"container_id", containerID, "retry_in", backoff, "error", err)
		if err := sleep(ctx, backoff); err != nil {
			return 0, err
		}
		backoff = min(2*backoff, w.cfg.MaxBackoff)
	}
}

// adopt takes over a container found at start-up and follows it like one
// this process started. A container that was created but never started is
// started now; a dead one is reported failed.
func (w *Worker) adopt(c runtime.Container) {
	t, added := w.tasks.add(taskFromContainer(c))
	if !added {
		return
	}
	w.log.Info("adopting container", "task_id", c.TaskID, "container_id", c.ID, "state", c.State)
	w.goFollow(t, func(ctx context.Context) {
		switch c.State {
		case runtime.StateCreated:
			w.runTask(ctx, t, runtime.Spec{TaskID: c.TaskID, Image: c.Image})
		case runtime.StateDead:
			status, _, message := statusOf(c)
			w.report(ctx, t.id, types.TaskStatusUpdate{Status: status, ContainerID: c.ID,
				Reason: types.ReasonContainerError, Message: message})
		default:
			w.followContainer(ctx, t, c.ID)
		}
	})
}

// goFollow runs fn, which starts or follows t's container, in a task
// goroutine. Its context ends with the worker's task context, or earlier
// when the task is removed.
func (w *Worker) goFollow(t *task, fn func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(w.taskCtx)
	t.setCancel(cancel)
	w.goTask(func() {
		defer cancel()
		fn(ctx)
	})
}

// adoptAll adopts every container the runtime lists for this node.
func (w *Worker) adoptAll(ctx context.Context) error {
	containers, err := w.rt.List(ctx)
	if err != nil {
		return fmt.Errorf("list containers to adopt: %w", err)
	}
	adopted := 0
	for _, c := range containers {
		if runtime.ValidateTaskID(c.TaskID) != nil {
			w.log.Warn("ignoring container with invalid task id label", "container_id", c.ID, "task_id", c.TaskID)
			continue
		}
		w.adopt(c)
		adopted++
	}
	w.log.Info("adopted containers", "node_id", w.cfg.NodeID, "count", adopted)
	return nil
}
