package worker

import (
	"context"
	"fmt"

	"github.com/podling/podling/internal/runtime"
	"github.com/podling/podling/internal/types"
)

// adoptPods resumes the supervision of every pod whose containers the
// runtime lists for this node. A pod's spec is read from its sandbox, so
// containers of a pod whose sandbox is gone are left alone: a delete of
// the pod removes them.
func (w *Worker) adoptPods(ctx context.Context) error {
	containers, err := w.rt.ListPods(ctx)
	if err != nil {
		return fmt.Errorf("list pod containers to adopt: %w", err)
	}
	byPod := make(map[string][]runtime.Container)
	for _, c := range containers {
		byPod[c.PodID] = append(byPod[c.PodID], c)
	}
	adopted := 0
	for podID, members := range byPod {
		if w.adoptPod(podID, members) {
			adopted++
		}
	}
	w.log.Info("adopted pods", "node_id", w.cfg.NodeID, "count", adopted)
	return nil
}

// adoptPod starts supervising a pod found in the runtime, and reports
// whether it did.
func (w *Worker) adoptPod(podID string, containers []runtime.Container) bool {
	var sandbox *runtime.Container
	members := make(map[string]runtime.Container)
	for _, c := range containers {
		switch {
		case c.Sandbox:
			sandbox = &c
		case c.RestartCount >= members[c.Name].RestartCount:
			members[c.Name] = c
		}
	}
	if sandbox == nil {
		w.log.Warn("ignoring pod containers without a sandbox", "pod_id", podID, "count", len(containers))
		return false
	}
	spec, err := decodePodSpec(*sandbox)
	if err != nil {
		w.log.Warn("ignoring pod with unreadable spec", "pod_id", podID, "error", err)
		return false
	}

	p := newPod(w, spec)
	if !w.pods.adopt(p) {
		return false
	}
	w.log.Info("adopting pod", "pod_id", podID, "containers", len(members), "sandbox_state", sandbox.State)
	w.startPod(p, func() { p.resume(*sandbox, members) })
	return true
}

// resume continues the supervision of an adopted pod: containers that run
// are followed, exited ones are handled by the restart policy, and missing
// or never started ones are started. started is closed when it returns.
func (p *pod) resume(sandbox runtime.Container, members map[string]runtime.Container) {
	defer close(p.started)
	ctx := p.superviseCtx
	switch sandbox.State {
	case runtime.StateRunning:
		p.mu.Lock()
		p.sandboxID, p.podIP = sandbox.ID, sandbox.IP
		p.mu.Unlock()
	case runtime.StateCreated:
		started, err := p.startSandbox(ctx)
		if err != nil {
			return
		}
		sandbox = started
	default:
		p.resumeStopped(sandbox, members)
		return
	}

	for i, pc := range p.containers {
		c, ok := members[pc.spec.Name]
		if !ok || c.State == runtime.StateCreated {
			started, err := p.startContainer(ctx, i, c.RestartCount)
			if err != nil {
				return
			}
			c = started
		} else {
			p.recordRunning(i, c)
		}
		p.follow(i, c)
	}
	p.watchSandbox(sandbox.ID)
}

// resumeStopped records the end of an adopted pod whose sandbox no longer
// runs. The pod has ended if every container exited and none would be
// restarted; otherwise it fails, because its containers have no network.
func (p *pod) resumeStopped(sandbox runtime.Container, members map[string]runtime.Container) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sandboxID = sandbox.ID
	cannotEnd := false
	for _, pc := range p.containers {
		c, ok := members[pc.spec.Name]
		pc.final = true
		if !ok || c.State == runtime.StateCreated {
			pc.status.Reason, pc.status.Message = types.ReasonContainerError, "container was never started"
			cannotEnd = true
			continue
		}
		recordStopped(pc, c)
		cannotEnd = cannotEnd || c.State == runtime.StateRunning || shouldRestart(p.policy, c.ExitCode, nil, false)
	}
	if cannotEnd {
		p.failLocked(types.ReasonContainerError, fmt.Sprintf("pause container %s is %s, so the pod cannot run", sandbox.ID, sandbox.State))
		return
	}
	p.notifyLocked()
}

// recordStopped records adopted container c of a stopped pod.
func recordStopped(pc *podContainer, c runtime.Container) {
	startedAt, finishedAt, code := c.StartedAt, c.FinishedAt, c.ExitCode
	pc.started = true
	pc.status = types.ContainerStatus{
		Name: pc.spec.Name, ContainerID: c.ID, State: types.ContainerTerminated,
		RestartCount: c.RestartCount, StartedAt: &startedAt, FinishedAt: &finishedAt,
	}
	if c.State == runtime.StateRunning {
		// finish stops it.
		pc.status.State, pc.status.FinishedAt = types.ContainerRunning, nil
		return
	}
	pc.status.ExitCode, pc.status.Reason, pc.status.Message = exitDetails(c.ID, code, nil, "")
}
