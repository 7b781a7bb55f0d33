package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/podling/podling/internal/runtime"
	"github.com/podling/podling/internal/types"
)

// restartBackoffReset is how long a container must run for its restart
// delay to go back to MinRestartBackoff.
const restartBackoffReset = 10 * time.Minute

// run starts the pod, its sandbox first and then each container in order,
// and follows every container it started. It stops at the first failure,
// which makes the pod fail. started is closed when run returns.
func (p *pod) run() {
	defer close(p.started)
	ctx := p.superviseCtx
	sandbox, err := p.startSandbox(ctx)
	if err != nil {
		return
	}
	for i := range p.containers {
		c, err := p.startContainer(ctx, i, 0)
		if err != nil {
			return
		}
		p.follow(i, c)
	}
	p.watchSandbox(sandbox.ID)
}

// startSandbox starts the pod's sandbox and records its ID and IP. A
// failure that is not the end of ctx makes the pod fail.
func (p *pod) startSandbox(ctx context.Context) (runtime.Container, error) {
	encoded, err := encodePodSpec(p.spec)
	var sandbox runtime.Container
	if err == nil {
		sandbox, err = p.rt.StartSandbox(ctx, sandboxSpec(p.spec, p.cfg.PauseImage, encoded))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			reason, message := sandboxFailure(err, p.cfg.PauseImage)
			p.log.Error("failed to start pod sandbox", "image", p.cfg.PauseImage, "reason", reason, "error", err)
			p.failLocked(reason, message)
		}
		return runtime.Container{}, err
	}

	p.log.Info("started pod sandbox", "container_id", sandbox.ID, "pod_ip", sandbox.IP)
	p.sandboxID, p.podIP = sandbox.ID, sandbox.IP
	p.notifyLocked()
	return sandbox, nil
}

// sandboxFailure returns the reason and message of a pod whose sandbox
// could not be started.
func sandboxFailure(err error, pauseImage string) (string, string) {
	if errors.Is(err, runtime.ErrImagePull) {
		return types.ReasonImagePullFailed, fmt.Sprintf(
			"pause image %s is missing and could not be pulled (run `make images` to build it): %v", pauseImage, err)
	}
	return types.ReasonContainerError, fmt.Sprintf("start sandbox from pause image %s: %v", pauseImage, err)
}

// startContainer starts instance restartCount of container i and records
// it. A failure that is not the end of ctx makes the pod fail.
func (p *pod) startContainer(ctx context.Context, i, restartCount int) (runtime.Container, error) {
	p.mu.Lock()
	spec := containerSpec(p.id, p.sandboxID, p.containers[i].spec, restartCount)
	p.mu.Unlock()

	id, err := p.rt.StartPodContainer(ctx, spec)
	var c runtime.Container
	if err == nil {
		c, err = p.rt.Inspect(ctx, id)
	}
	if err != nil {
		if ctx.Err() == nil {
			p.recordStartFailure(i, err)
		}
		return runtime.Container{}, err
	}
	p.log.Info("started container", "container", spec.Name, "container_id", c.ID, "restart_count", c.RestartCount)
	p.cfg.Metrics.ContainerStarted("pod")
	p.recordRunning(i, c)
	return c, nil
}

func (p *pod) recordStartFailure(i int, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pc := p.containers[i]
	reason := types.ReasonContainerError
	if errors.Is(err, runtime.ErrImagePull) {
		reason = types.ReasonImagePullFailed
	}
	p.log.Error("failed to start container", "container", pc.spec.Name, "image", pc.spec.Image, "reason", reason, "error", err)
	p.cfg.Metrics.ContainerFailed("pod", reason)
	pc.status.State = types.ContainerWaiting
	pc.status.Ready = false
	pc.status.Reason, pc.status.Message = reason, err.Error()
	pc.startFailed, pc.final = true, true
	p.notifyLocked()
}

// recordRunning records a started instance of container i. A container
// without a readiness probe is ready while it runs.
func (p *pod) recordRunning(i int, c runtime.Container) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pc := p.containers[i]
	startedAt := c.StartedAt
	pc.status = types.ContainerStatus{
		Name:         pc.spec.Name,
		ContainerID:  c.ID,
		State:        types.ContainerRunning,
		Ready:        pc.spec.ReadinessProbe == nil,
		RestartCount: c.RestartCount,
		StartedAt:    &startedAt,
	}
	pc.started = true
	p.notifyLocked()
}

// follow supervises container i, starting from its instance c, in a
// goroutine that finish waits for.
func (p *pod) follow(i int, c runtime.Container) {
	p.loops.Add(1)
	p.goPod(func() {
		defer p.loops.Done()
		p.superviseContainer(i, c)
	})
}

// superviseContainer probes instance c of container i until it exits,
// records the exit and, when the restart policy requires it, starts the
// next instance after a delay. It returns when the container will not run
// again or supervision ends.
func (p *pod) superviseContainer(i int, c runtime.Container) {
	ctx := p.superviseCtx
	for {
		exited, waitErr := p.followInstance(ctx, i, c)
		if ctx.Err() != nil {
			return
		}
		delay, restart := p.recordExit(i, c, exited, waitErr)
		if !restart || sleep(ctx, delay) != nil {
			return
		}
		next, err := p.startContainer(ctx, i, c.RestartCount+1)
		if err != nil {
			return
		}
		c = next
	}
}

// followInstance runs the probes of instance c of container i until it
// exits, and returns the container as it was then.
func (p *pod) followInstance(ctx context.Context, i int, c runtime.Container) (runtime.Container, error) {
	probeCtx, stopProbes := context.WithCancel(ctx)
	defer stopProbes()
	p.startProbes(probeCtx, i, c.ID)

	log := p.log.With("container", p.containers[i].spec.Name)
	code, err := p.w.waitForExit(ctx, log, c.ID)
	if err != nil {
		return runtime.Container{}, err
	}
	exited, err := p.rt.Inspect(ctx, c.ID)
	if err != nil {
		// The engine lost the container right after it exited; the exit
		// code is still known.
		exited = c
		exited.State, exited.ExitCode, exited.FinishedAt = runtime.StateExited, code, time.Now()
	}
	return exited, nil
}

// recordExit records that instance c of container i ended, as exited
// shows or with waitErr when it disappeared, and returns whether and after
// what delay the container restarts.
func (p *pod) recordExit(i int, c, exited runtime.Container, waitErr error) (time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pc := p.containers[i]
	finishedAt := exited.FinishedAt
	if finishedAt.IsZero() {
		finishedAt = time.Now()
	}
	pc.status.State = types.ContainerTerminated
	pc.status.Ready = false
	pc.status.FinishedAt = &finishedAt
	pc.status.ExitCode, pc.status.Reason, pc.status.Message = exitDetails(c.ID, exited.ExitCode, waitErr, pc.unhealthy)
	if pc.status.Reason != reasonCompleted {
		p.cfg.Metrics.ContainerFailed("pod", pc.status.Reason)
	}

	restart := !p.finishing && shouldRestart(p.policy, exited.ExitCode, waitErr, pc.unhealthy != "")
	pc.unhealthy = ""
	var delay time.Duration
	if restart {
		delay = pc.nextBackoff(c.StartedAt, finishedAt, p.cfg.MinRestartBackoff, p.cfg.MaxRestartBackoff)
		pc.status.Message += fmt.Sprintf("; restarting in %s", delay)
	} else {
		pc.final = true
	}
	p.log.Info("container exited", "container", pc.spec.Name, "container_id", c.ID,
		"exit_code", pc.status.ExitCode, "reason", pc.status.Reason, "restart", restart)
	p.notifyLocked()
	return delay, restart
}

// exitDetails returns the exit code, reason and message of an instance
// that ended: with code, or with waitErr when it disappeared, and after
// being stopped for failing its liveness probe when unhealthy is set.
func exitDetails(containerID string, code int, waitErr error, unhealthy string) (*int, string, string) {
	switch {
	case waitErr != nil:
		return nil, types.ReasonContainerError, fmt.Sprintf("container %s disappeared: %v", containerID, waitErr)
	case unhealthy != "":
		return &code, reasonLivenessFailed, fmt.Sprintf("stopped after its liveness probe failed (%s), exit code %d", unhealthy, code)
	case code == 0:
		return &code, reasonCompleted, exitMessage(code)
	}
	return &code, types.ReasonNonZeroExit, exitMessage(code)
}

// shouldRestart applies a restart policy to an instance that ended. A
// container stopped for failing its liveness probe restarts under
// OnFailure whatever its exit code, because the worker ended it, and a
// program that handles SIGTERM may exit with code 0.
func shouldRestart(policy types.RestartPolicy, code int, waitErr error, unhealthy bool) bool {
	switch policy {
	case types.RestartAlways:
		return true
	case types.RestartOnFailure:
		return waitErr != nil || code != 0 || unhealthy
	}
	return false
}

// nextBackoff returns the delay before the next restart: the minimum after
// an instance that ran for restartBackoffReset, otherwise twice the last
// delay, at most maxDelay.
func (pc *podContainer) nextBackoff(startedAt, finishedAt time.Time, minDelay, maxDelay time.Duration) time.Duration {
	if pc.backoff == 0 || finishedAt.Sub(startedAt) >= restartBackoffReset {
		pc.backoff = minDelay
	} else {
		pc.backoff = min(2*pc.backoff, maxDelay)
	}
	return pc.backoff
}

// watchSandbox makes the pod fail if its sandbox exits while the pod is
// supervised, because the containers lose their network with it.
func (p *pod) watchSandbox(sandboxID string) {
	p.loops.Add(1)
	p.goPod(func() {
		defer p.loops.Done()
		ctx := p.superviseCtx
		code, err := p.w.waitForExit(ctx, p.log, sandboxID)
		if ctx.Err() != nil {
			return
		}
		message := fmt.Sprintf("pause container %s exited with code %d", sandboxID, code)
		if err != nil {
			message = fmt.Sprintf("pause container %s disappeared: %v", sandboxID, err)
		}
		p.log.Error("pod sandbox stopped", "container_id", sandboxID, "error", message)
		p.mu.Lock()
		defer p.mu.Unlock()
		p.failLocked(types.ReasonContainerError, message)
	})
}

// finish ends the supervision of a pod whose phase is final: it stops
// restarts and probes, stops the containers that still run, and then the
// sandbox. The containers are kept, with their logs, until the pod is
// deleted.
func (p *pod) finish() {
	p.stopSupervising()
	p.loops.Wait()

	for i := range p.containers {
		p.stopRemaining(i)
	}
	p.mu.Lock()
	sandboxID := p.sandboxID
	p.mu.Unlock()
	if sandboxID == "" {
		return
	}
	if err := p.rt.Stop(p.ctx, sandboxID, p.cfg.StopGrace); err != nil && p.ctx.Err() == nil {
		p.log.Warn("failed to stop pod sandbox", "container_id", sandboxID, "error", err)
	}
}

// stopRemaining stops container i if it still runs after the pod has
// reached a final phase, and records it as final.
func (p *pod) stopRemaining(i int) {
	p.mu.Lock()
	pc := p.containers[i]
	pc.final = true
	id, running := pc.status.ContainerID, pc.status.State == types.ContainerRunning
	p.mu.Unlock()
	if !running {
		return
	}

	err := p.rt.Stop(p.ctx, id, p.cfg.StopGrace)
	var c runtime.Container
	if err == nil {
		c, err = p.rt.Inspect(p.ctx, id)
	}
	if err != nil {
		if p.ctx.Err() == nil {
			p.log.Warn("failed to stop container of finished pod", "container", pc.spec.Name, "container_id", id, "error", err)
		}
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	code, finishedAt := c.ExitCode, c.FinishedAt
	pc.status.State, pc.status.Ready = types.ContainerTerminated, false
	pc.status.ExitCode, pc.status.FinishedAt = &code, &finishedAt
	pc.status.Reason, pc.status.Message = reasonPodFailed, "stopped because the pod failed"
	p.notifyLocked()
}
