package docker

import (
	"context"
	"io"
	"strconv"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/podling/podling/internal/runtime"
)

// Logs implements runtime.Runtime. Containers are created without a
// terminal, so the engine multiplexes both streams into frames; Logs
// removes the framing and returns plain text. With opts.Follow the engine
// ends the stream when the container stops.
func (r *Runtime) Logs(ctx context.Context, containerID string, opts runtime.LogOptions) (io.ReadCloser, error) {
	engineOpts := container.LogsOptions{
		ShowStdout: true, ShowStderr: true, Tail: strconv.Itoa(opts.Tail), Follow: opts.Follow,
	}
	framed, err := r.api.ContainerLogs(ctx, containerID, engineOpts)
	if err != nil {
		return nil, wrapContainerErr("read logs of", containerID, err)
	}

	reader, writer := io.Pipe()
	go func() {
		_, err := stdcopy.StdCopy(writer, writer, framed)
		writer.CloseWithError(err)
	}()
	return &demuxedLogs{PipeReader: reader, framed: framed}, nil
}

// demuxedLogs closes the engine's stream together with the pipe, which
// also ends the copying goroutine.
type demuxedLogs struct {
	*io.PipeReader
	framed io.Closer
}

func (l *demuxedLogs) Close() error {
	l.PipeReader.Close()
	return l.framed.Close()
}
