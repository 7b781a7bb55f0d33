package fake

import (
	"context"
	"fmt"
	"time"

	"github.com/podling/podling/internal/runtime"
)

// killedExitCode is the exit code of a container ended by SIGKILL, which
// the fake reports for every container it stops or removes.
const killedExitCode = 137

// ExecFunc decides the exit code of a command run by Exec in container c.
type ExecFunc func(c runtime.Container, cmd []string) (int, error)

// SetExec makes later Exec calls run fn. Without it every command exits
// with code 0.
func (f *Runtime) SetExec(fn ExecFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.exec = fn
}

// Networks returns how many times EnsureNetwork has been called.
func (f *Runtime) Networks() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.networks
}

// PodContainer returns the current container called name in the pod, or
// the pod's sandbox when name is empty.
func (f *Runtime) PodContainer(podID, name string) (runtime.Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, err := f.entryForPodLocked(podID, name)
	if err != nil {
		return runtime.Container{}, err
	}
	return e.c, nil
}

// ExitPodContainer makes the running container called name in the pod exit
// with code; an empty name means the sandbox.
func (f *Runtime) ExitPodContainer(podID, name string, code int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, err := f.entryForPodLocked(podID, name)
	if err != nil {
		return err
	}
	if e.c.State != runtime.StateRunning {
		return fmt.Errorf("fake: container %s of pod %s is %s, not running", name, podID, e.c.State)
	}
	e.exitLocked(code)
	return nil
}

// AppendPodLogs adds lines to the output of the container called name in
// the pod.
func (f *Runtime) AppendPodLogs(podID, name string, lines ...string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, err := f.entryForPodLocked(podID, name)
	if err != nil {
		return err
	}
	e.appendLogsLocked(lines)
	return nil
}

func (f *Runtime) entryForPodLocked(podID, name string) (*entry, error) {
	id, ok := f.byName[podKey{podID: podID, name: name}]
	if !ok {
		return nil, fmt.Errorf("%w: container %q of pod %s", runtime.ErrNotFound, name, podID)
	}
	return f.containers[id], nil
}

// EnsureNetwork implements runtime.Runtime by counting the calls.
func (f *Runtime) EnsureNetwork(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.networks++
	return nil
}

// StartSandbox implements runtime.Runtime.
func (f *Runtime) StartSandbox(ctx context.Context, spec runtime.SandboxSpec) (runtime.Container, error) {
	if err := runtime.ValidatePodID(spec.PodID); err != nil {
		return runtime.Container{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()

	if e, err := f.entryForPodLocked(spec.PodID, ""); err == nil {
		f.runLocked(e)
		return e.c, nil
	}
	c := runtime.Container{PodID: spec.PodID, Image: spec.Image, Sandbox: true, PodSpec: spec.PodSpec}
	e, err := f.createLocked(c)
	if err != nil {
		return runtime.Container{}, err
	}
	return e.c, nil
}

// StartPodContainer implements runtime.Runtime.
func (f *Runtime) StartPodContainer(ctx context.Context, spec runtime.PodContainerSpec) (string, error) {
	if err := runtime.ValidatePodID(spec.PodID); err != nil {
		return "", err
	}
	if err := runtime.ValidateContainerName(spec.Name); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()

	if e, err := f.entryForPodLocked(spec.PodID, spec.Name); err == nil {
		if e.c.RestartCount >= spec.RestartCount {
			f.runLocked(e)
			return e.c.ID, nil
		}
		f.removeLocked(e)
	}
	c := runtime.Container{PodID: spec.PodID, Image: spec.Image, Name: spec.Name, RestartCount: spec.RestartCount}
	e, err := f.createLocked(c)
	if err != nil {
		return "", err
	}
	return e.c.ID, nil
}

// createLocked stores and starts a new pod container, unless the pull of
// its image is set to fail.
func (f *Runtime) createLocked(c runtime.Container) (*entry, error) {
	if err := f.pullErrors[c.Image]; err != nil {
		return nil, fmt.Errorf("%w: %s: %w", runtime.ErrImagePull, c.Image, err)
	}
	f.created++
	c.ID = fmt.Sprintf("fake-%d-%s-%s", f.created, c.PodID, c.Name)
	c.NodeID = f.nodeID
	c.State = runtime.StateCreated
	e := newEntry(c)
	f.containers[c.ID] = e
	f.byName[keyOf(c)] = c.ID
	f.runLocked(e)
	if c.Sandbox {
		e.c.IP = f.podIP
	}
	return e, nil
}

// ListPods implements runtime.Runtime.
func (f *Runtime) ListPods(ctx context.Context) ([]runtime.Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var list []runtime.Container
	for _, e := range f.containers {
		if e.c.NodeID == f.nodeID && e.c.PodID != "" {
			list = append(list, e.c)
		}
	}
	return list, nil
}

// Stop implements runtime.Runtime: a running container exits at once with
// the code of SIGKILL.
func (f *Runtime) Stop(ctx context.Context, containerID string, grace time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.containers[containerID]
	if !ok {
		return fmt.Errorf("%w: container %s", runtime.ErrNotFound, containerID)
	}
	e.exitLocked(killedExitCode)
	return nil
}

// RemovePod implements runtime.Runtime.
func (f *Runtime) RemovePod(ctx context.Context, podID string, grace time.Duration) (int, error) {
	if err := runtime.ValidatePodID(podID); err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	removed := 0
	for _, e := range f.containers {
		if e.c.PodID == podID && e.c.NodeID == f.nodeID {
			f.removeLocked(e)
			removed++
		}
	}
	return removed, nil
}

// Exec implements runtime.Runtime with the function set by SetExec.
func (f *Runtime) Exec(ctx context.Context, containerID string, cmd []string) (int, error) {
	f.mu.Lock()
	e, ok := f.containers[containerID]
	var c runtime.Container
	if ok {
		c = e.c
	}
	fn := f.exec
	f.mu.Unlock()

	switch {
	case !ok:
		return 0, fmt.Errorf("%w: container %s", runtime.ErrNotFound, containerID)
	case c.State != runtime.StateRunning:
		return 0, fmt.Errorf("%w: exec in container %s: container is %s", runtime.ErrContainer, containerID, c.State)
	case fn == nil:
		return 0, nil
	}
	return fn(c, cmd)
}
