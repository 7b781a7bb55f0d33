package worker

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/podling/podling/internal/ids"
	"github.com/podling/podling/internal/runtime"
	"github.com/podling/podling/internal/types"
)

// podNotResumableMessage explains the failed status announced for a pod whose
// containers the worker found but cannot supervise.
const podNotResumableMessage = "the worker found containers of this pod without a readable pause container, so it cannot resume the pod"

// announcement is the work a registration announces: the task and pod
// containers the runtime lists for this node.
type announcement struct {
	tasks []types.AnnouncedTask
	pods  []types.AnnouncedPod
}

func (a announcement) empty() bool { return len(a.tasks) == 0 && len(a.pods) == 0 }

func (a announcement) hasTask(id string) bool {
	return slices.ContainsFunc(a.tasks, func(t types.AnnouncedTask) bool { return t.TaskID == id })
}

func (a announcement) containerOf(taskID string) string {
	for _, t := range a.tasks {
		if t.TaskID == taskID {
			return t.ContainerID
		}
	}
	return ""
}

func (a announcement) hasPod(id string) bool {
	return slices.ContainsFunc(a.pods, func(p types.AnnouncedPod) bool { return p.PodID == id })
}

// announce lists this node's task and pod containers for a registration.
// Waiting for pods to settle is bounded by RequestTimeout. A kind of work
// the runtime fails to list is left out, and the failure is logged.
func (w *Worker) announce(ctx context.Context) announcement {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.RequestTimeout)
	defer cancel()
	var a announcement
	var err error
	if a.tasks, err = w.announcedTasks(ctx); err != nil {
		w.log.Warn("failed to list task containers, registering without them", "node_id", w.cfg.NodeID, "error", err)
	}
	if a.pods, err = w.announcedPods(ctx); err != nil {
		w.log.Warn("failed to list pod containers, registering without them", "node_id", w.cfg.NodeID, "error", err)
	}
	return a
}

// announcedTasks returns the state of every task container of this node.
func (w *Worker) announcedTasks(ctx context.Context) ([]types.AnnouncedTask, error) {
	containers, err := w.rt.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list task containers: %w", err)
	}
	tasks := make([]types.AnnouncedTask, 0, len(containers))
	for _, c := range containers {
		if !ids.ValidObject(c.TaskID) {
			continue
		}
		tasks = append(tasks, announcedTask(c))
	}
	return tasks, nil
}

// announcedTask returns the state of a task container as a registration
// announces it. A container that was created but never started is
// announced running, because adopting it starts it.
func announcedTask(c runtime.Container) types.AnnouncedTask {
	status, exitCode, _ := statusOf(c)
	if status == types.TaskScheduled {
		status = types.TaskRunning
	}
	return types.AnnouncedTask{TaskID: c.TaskID, ContainerID: c.ID, Status: status, ExitCode: exitCode}
}

// announcedPods returns the current report of every pod that has
// containers on this node, except pods being deleted.
func (w *Worker) announcedPods(ctx context.Context) ([]types.AnnouncedPod, error) {
	containers, err := w.rt.ListPods(ctx)
	if err != nil {
		return nil, fmt.Errorf("list pod containers: %w", err)
	}
	pods := []types.AnnouncedPod{}
	seen := make(map[string]bool)
	for _, c := range containers {
		if seen[c.PodID] || !ids.ValidObject(c.PodID) {
			continue
		}
		seen[c.PodID] = true
		if report, ok := w.announcedPodReport(ctx, c.PodID); ok {
			pods = append(pods, types.AnnouncedPod{PodID: c.PodID, Report: report})
		}
	}
	return pods, nil
}

// announcedPodReport returns the report to announce for a pod, once its
// containers were started or resumed or ctx ended. A pod the worker does
// not supervise is announced failed, and a pod being deleted is left out.
func (w *Worker) announcedPodReport(ctx context.Context, podID string) (types.PodStatusReport, bool) {
	p, deleting := w.pods.lookup(podID)
	switch {
	case deleting:
		return types.PodStatusReport{}, false
	case p == nil:
		return types.PodStatusReport{Status: types.PodFailed, Reason: types.ReasonContainerError, Message: podNotResumableMessage}, true
	}
	select {
	case <-p.started:
	case <-ctx.Done():
	}
	return w.podReport(p), true
}

// removeOrphans stops and removes, in a task goroutine, the containers of
// the orphans the masters returned. Only announced work is removed.
func (w *Worker) removeOrphans(orphans types.Orphans, announced announcement) {
	if len(orphans.Tasks) == 0 && len(orphans.Pods) == 0 {
		return
	}
	w.goTask(func() {
		for _, id := range orphans.Tasks {
			w.removeOrphanTask(w.taskCtx, id, announced)
		}
		for _, id := range orphans.Pods {
			w.removeOrphanPod(w.taskCtx, id, announced)
		}
	})
}

// removeOrphanTask stops following the task and stops and removes the
// container the registration announced for it.
func (w *Worker) removeOrphanTask(ctx context.Context, id string, announced announcement) {
	log := w.log.With("task_id", id, "node_id", w.cfg.NodeID)
	if !announced.hasTask(id) {
		log.Warn("ignoring orphan task that this worker did not announce")
		return
	}
	if t, ok := w.tasks.get(id); ok {
		t.stopFollowing()
		defer w.tasks.remove(t)
	}

	containerID := announced.containerOf(id)
	log = log.With("container_id", containerID)
	if err := w.rt.Stop(ctx, containerID, w.cfg.StopGrace); errors.Is(err, runtime.ErrNotFound) {
		log.Info("orphan task container is already gone")
		return
	} else if err != nil {
		// Remove kills a container that did not stop.
		log.Warn("failed to stop orphan task container, removing it anyway", "error", err)
	}
	if err := w.rt.Remove(ctx, containerID); err != nil {
		log.Error("failed to remove orphan task container", "error", err)
		return
	}
	log.Info("removed orphan task container")
}

// removeOrphanPod deletes an announced pod like a delete request does.
func (w *Worker) removeOrphanPod(ctx context.Context, id string, announced announcement) {
	log := w.log.With("pod_id", id, "node_id", w.cfg.NodeID)
	if !announced.hasPod(id) {
		log.Warn("ignoring orphan pod that this worker did not announce")
		return
	}
	removed, err := w.deletePod(ctx, id)
	if err != nil {
		log.Error("failed to remove orphan pod", "removed", removed, "error", err)
		return
	}
	log.Info("removed orphan pod", "removed", removed)
}
