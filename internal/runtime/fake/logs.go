package fake

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/podling/podling/internal/runtime"
)

// Logs implements runtime.Runtime. With opts.Follow the stream goes on
// with each line appended later, and ends when the container leaves the
// running state or ctx ends.
func (f *Runtime) Logs(ctx context.Context, containerID string, opts runtime.LogOptions) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.containers[containerID]
	if !ok {
		return nil, fmt.Errorf("%w: container %s", runtime.ErrNotFound, containerID)
	}
	first := max(0, len(e.logs)-opts.Tail)
	if !opts.Follow {
		return io.NopCloser(strings.NewReader(joinLines(e.logs[first:]))), nil
	}

	reader, writer := io.Pipe()
	go f.follow(ctx, e, first, writer)
	return reader, nil
}

// follow writes the lines of e from index next on, as they are appended,
// until the container exits, ctx ends or the reader is closed. Lines
// appended before the exit are written before the stream ends.
func (f *Runtime) follow(ctx context.Context, e *entry, next int, writer *io.PipeWriter) {
	for {
		f.mu.Lock()
		lines, logged, exited := e.logs[next:], e.logged, e.exited
		f.mu.Unlock()

		next += len(lines)
		if len(lines) > 0 {
			if _, err := io.WriteString(writer, joinLines(lines)); err != nil {
				return
			}
		}
		select {
		case <-logged:
			continue
		case <-ctx.Done():
			writer.CloseWithError(ctx.Err())
			return
		case <-exited:
		}

		f.mu.Lock()
		rest := joinLines(e.logs[next:])
		f.mu.Unlock()
		if rest != "" {
			io.WriteString(writer, rest)
		}
		writer.Close()
		return
	}
}

func joinLines(lines []string) string {
	var text strings.Builder
	for _, line := range lines {
		text.WriteString(line + "\n")
	}
	return text.String()
}
