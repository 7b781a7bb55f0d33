package docker

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/podling/podling/internal/runtime"
)

// execPollInterval is the pause between checks of an exec that the engine
// still reports running after its output has ended.
const execPollInterval = 10 * time.Millisecond

// Exec implements runtime.Runtime. The command's output is read and
// discarded, because the engine reports an exit code only once it ends.
func (r *Runtime) Exec(ctx context.Context, containerID string, cmd []string) (int, error) {
	created, err := r.api.ContainerExecCreate(ctx, containerID, container.ExecOptions{
		Cmd: cmd, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return 0, wrapContainerErr("exec in", containerID, err)
	}
	attached, err := r.api.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return 0, wrapContainerErr("attach to exec in", containerID, err)
	}

	// The attached connection ignores ctx, so closing it is what ends the
	// read when ctx ends first.
	stop := context.AfterFunc(ctx, attached.Close)
	_, readErr := io.Copy(io.Discard, attached.Reader)
	stop()
	attached.Close()
	if ctx.Err() != nil {
		return 0, fmt.Errorf("exec %q in container %s: %w", cmd, containerID, ctx.Err())
	}
	if readErr != nil {
		return 0, fmt.Errorf("%w: read output of exec in container %s: %w", runtime.ErrContainer, containerID, readErr)
	}
	return r.execExitCode(ctx, containerID, created.ID)
}

// execExitCode waits until the engine reports the exec ended and returns
// its exit code.
func (r *Runtime) execExitCode(ctx context.Context, containerID, execID string) (int, error) {
	for {
		info, err := r.api.ContainerExecInspect(ctx, execID)
		if err != nil {
			return 0, wrapContainerErr("inspect exec in", containerID, err)
		}
		if !info.Running {
			return info.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("wait for exec in container %s: %w", containerID, ctx.Err())
		case <-time.After(execPollInterval):
		}
	}
}
