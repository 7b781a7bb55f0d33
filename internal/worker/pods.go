package worker

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/podling/podling/internal/runtime"
	"github.com/podling/podling/internal/types"
)

// Reasons the worker puts on container statuses, besides the task reasons
// ImagePullFailed, ContainerError and NonZeroExit of package types.
const (
	// reasonCompleted: the container exited with code 0.
	reasonCompleted = "Completed"
	// reasonLivenessFailed: the worker stopped the container because its
	// liveness probe failed.
	reasonLivenessFailed = "LivenessProbeFailed"
	// reasonPodFailed: the worker stopped the container because another
	// part of the pod failed.
	reasonPodFailed = "PodFailed"
)

// pod is the worker's record of one pod it runs: the spec it was given and
// the state of its sandbox and containers. Its goroutines supervise the
// containers, run the probes and report changes to the masters.
type pod struct {
	rt     runtime.Runtime
	cfg    Config
	w      *Worker
	id     string
	spec   types.Pod
	policy types.RestartPolicy
	log    hclog.Logger
	// started is closed once the first attempt to start every container
	// has finished, whether it succeeded or not.
	started chan struct{}
	// changed has room for one signal, so changes made while a report is
	// in flight are sent together in the next one.
	changed chan struct{}

	// ctx ends when the pod is deleted or the worker stops; cancel ends it.
	ctx    context.Context
	cancel context.CancelFunc
	// superviseCtx is a child of ctx that also ends when the pod reaches a
	// final phase, which stops restarts and probes.
	superviseCtx    context.Context
	stopSupervising context.CancelFunc
	// group tracks every goroutine of the pod; loops tracks those that
	// follow containers.
	group sync.WaitGroup
	loops sync.WaitGroup

	mu         sync.Mutex
	sandboxID  string
	podIP      string
	containers []*podContainer
	phase      types.PodStatus
	reason     string
	message    string
	// finishing is set once the phase is final and finish was started.
	finishing bool
}

// podContainer is the state of one container of a pod, guarded by the
// pod's mutex.
type podContainer struct {
	spec   types.Container
	status types.ContainerStatus
	// started is true once any instance of the container has run.
	started bool
	// final is true for a container that will not run again: it exited
	// and is not restarted, or could not be started.
	final bool
	// startFailed is true when the container could not be started; the
	// status carries the reason and message.
	startFailed bool
	// unhealthy describes the liveness failure that made the worker stop
	// the current instance, until that instance exits.
	unhealthy string
	backoff   time.Duration
}

// newPod returns the record of a pod to run or adopt. Its goroutines end
// when the worker's task context ends, as well as on delete.
func newPod(w *Worker, spec types.Pod) *pod {
	ctx, cancel := context.WithCancel(w.taskCtx)
	superviseCtx, stopSupervising := context.WithCancel(ctx)
	p := &pod{
		rt:              w.rt,
		cfg:             w.cfg,
		w:               w,
		id:              spec.PodID,
		spec:            podSpecOf(spec),
		policy:          restartPolicy(spec),
		log:             w.log.With("pod_id", spec.PodID),
		started:         make(chan struct{}),
		changed:         make(chan struct{}, 1),
		ctx:             ctx,
		cancel:          cancel,
		superviseCtx:    superviseCtx,
		stopSupervising: stopSupervising,
		phase:           types.PodScheduled,
	}
	for _, c := range spec.Containers {
		status := types.ContainerStatus{Name: c.Name, State: types.ContainerWaiting}
		p.containers = append(p.containers, &podContainer{spec: c, status: status})
	}
	return p
}

// goPod runs fn in a goroutine that delete and shutdown wait for.
func (p *pod) goPod(fn func()) {
	p.group.Go(fn)
}

// stop ends every goroutine of the pod and waits for them. Containers are
// left as they are.
func (p *pod) stop() {
	p.cancel()
	p.group.Wait()
}

// reportChanges sends the pod's status to the masters each time it
// changes, one report at a time and in order, until the pod's context
// ends. A report always carries the latest state, so changes made while
// one is in flight go out together in the next.
func (p *pod) reportChanges() {
	var last *types.PodStatusReport
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-p.changed:
		}
		report := p.report()
		if last != nil && reflect.DeepEqual(*last, report) {
			continue
		}
		p.w.reportPod(p.ctx, p.id, report)
		last = &report
	}
}

// notifyLocked signals the reporter that the pod's state changed, after
// settling the phase.
func (p *pod) notifyLocked() {
	p.updatePhaseLocked()
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

// updatePhaseLocked derives the phase from the containers unless it is
// already final, and starts finish when it has just become final.
func (p *pod) updatePhaseLocked() {
	if !p.phase.Terminal() {
		p.phase, p.reason, p.message = derivePhase(p.containers)
	}
	if p.phase.Terminal() && !p.finishing {
		p.finishing = true
		p.log.Info("pod finished", "status", p.phase, "reason", p.reason, "message", p.message)
		p.goPod(p.finish)
	}
}

// failLocked makes the pod fail for a reason that no container shows, such
// as its sandbox exiting.
func (p *pod) failLocked(reason, message string) {
	if !p.phase.Terminal() {
		p.phase, p.reason, p.message = types.PodFailed, reason, message
	}
	p.notifyLocked()
}

// report returns the pod's current status report.
func (p *pod) report() types.PodStatusReport {
	p.mu.Lock()
	defer p.mu.Unlock()
	statuses := make([]types.ContainerStatus, len(p.containers))
	for i, c := range p.containers {
		statuses[i] = c.status
	}
	return types.PodStatusReport{
		Status:            p.phase,
		PodIP:             p.podIP,
		ContainerStatuses: statuses,
		Reason:            p.reason,
		Message:           p.message,
	}
}

// derivePhase computes a pod's phase from its containers:
//   - failed, with the container's reason, when a container could not be
//     started;
//   - succeeded when every container exited with code 0 and none will be
//     restarted;
//   - failed when every container exited, none will be restarted and at
//     least one did not exit with code 0. The reason is NonZeroExit, or
//     ContainerError when no exit code is known, as for a container that
//     was removed by someone else;
//   - running once every container has run, while any of them runs or
//     will be restarted;
//   - scheduled while containers are still being started.
func derivePhase(containers []*podContainer) (types.PodStatus, string, string) {
	allFinal, allStarted := true, true
	var failures []string
	reason := types.ReasonContainerError
	for _, c := range containers {
		if c.startFailed {
			return types.PodFailed, c.status.Reason, c.status.Message
		}
		allFinal = allFinal && c.final
		allStarted = allStarted && c.started
		code := c.status.ExitCode
		switch {
		case !c.final || (code != nil && *code == 0):
		case code != nil:
			reason = types.ReasonNonZeroExit
			failures = append(failures, fmt.Sprintf("container %s exited with code %d", c.spec.Name, *code))
		default:
			failures = append(failures, fmt.Sprintf("container %s: %s", c.spec.Name, c.status.Message))
		}
	}
	switch {
	case allFinal && len(failures) > 0:
		return types.PodFailed, reason, strings.Join(failures, "; ")
	case allFinal:
		return types.PodSucceeded, "", ""
	case allStarted:
		return types.PodRunning, "", ""
	}
	return types.PodScheduled, "", ""
}

// containerIndex returns the index of the container called name, or -1.
func (p *pod) containerIndex(name string) int {
	for i, c := range p.spec.Containers {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// containerID returns the ID of the container's current instance, or an
// API error when it has none yet.
func (p *pod) containerID(name string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	i := p.containerIndex(name)
	if i < 0 {
		return "", newAPIError(http.StatusBadRequest, codeInvalidRequest,
			"pod %s has no container %q; its containers are %s", p.id, name, p.containerNames())
	}
	id := p.containers[i].status.ContainerID
	if id == "" {
		return "", newAPIError(http.StatusNotFound, codeNotFound, "container %s of pod %s has not been created", name, p.id)
	}
	return id, nil
}

// containerNames returns the names of the pod's containers, comma-separated.
func (p *pod) containerNames() string {
	names := make([]string, len(p.spec.Containers))
	for i, c := range p.spec.Containers {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}
