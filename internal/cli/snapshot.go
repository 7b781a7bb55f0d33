package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/podling/podling/internal/client"
)

func (a *app) snapshotCommand() *cobra.Command {
	return groupCommand("snapshot", "Save the cluster's state to a file, or restore it",
		a.snapshotSaveCommand(), a.snapshotRestoreCommand())
}

func (a *app) snapshotSaveCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "save FILE",
		Short: "Save the whole state of the cluster to FILE",
		Long: `Save the whole state of the cluster, every write acknowledged before
the call included, to FILE, or to standard output for -. The file appears
only once it is complete, readable by its owner only, since it holds
every environment variable of every task and pod. Progress is shown on a
terminal.`,
		Args: exactArgs(1),
		RunE: a.calls(func(ctx context.Context, c *client.Client, args []string) error {
			backup, err := c.SaveSnapshot(ctx)
			if err != nil {
				return err
			}
			defer backup.Close()
			if args[0] == "-" {
				_, err := io.Copy(a.out(), backup)
				return err
			}
			size, err := a.writeFile(args[0], backup)
			if err != nil {
				return err
			}
			a.progressf("%ssaved snapshot to %s (%s)\n", eraseLine, args[0], byteSize(size))
			return nil
		}),
	}
}

// writeFile copies r to a temporary file beside path, then renames it to
// path, so path never holds half a snapshot.
func (a *app) writeFile(path string, r io.Reader) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return 0, fmt.Errorf("create snapshot file: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	size, err := io.Copy(tmp, &progressReader{r: r, report: a.snapshotProgress})
	if err == nil {
		err = tmp.Sync()
	}
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return size, fmt.Errorf("write snapshot: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return size, fmt.Errorf("save snapshot: %w", err)
	}
	return size, nil
}

func (a *app) snapshotProgress(read int64) {
	a.progressf("%ssaving snapshot: %s", eraseLine, byteSize(read))
}

// eraseLine returns a terminal's cursor to the start of the line and
// clears it, so a progress line is written over the last one.
const eraseLine = "\r\x1b[K"

// progressInterval is the shortest time between two progress reports.
const progressInterval = 200 * time.Millisecond

// progressReader reports how many bytes were read, at most once per
// progressInterval.
type progressReader struct {
	r      io.Reader
	report func(read int64)
	read   int64
	last   time.Time
}

func (p *progressReader) Read(buf []byte) (int, error) {
	n, err := p.r.Read(buf)
	p.read += int64(n)
	if now := time.Now(); now.Sub(p.last) >= progressInterval {
		p.last = now
		p.report(p.read)
	}
	return n, err
}

// byteSize formats a size in bytes with a binary unit.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	value, exp := float64(n)/unit, 0
	for value >= unit && exp < 3 {
		value /= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", value, "KMGT"[exp])
}

func (a *app) snapshotRestoreCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "restore FILE",
		Short: "Make the snapshot in FILE the state of the whole cluster",
		Long: `Make a snapshot saved with snapshot save the state of the whole
cluster, replacing everything in it. FILE - reads standard input. A
damaged file is rejected and changes nothing.`,
		Args: exactArgs(1),
		RunE: a.calls(func(ctx context.Context, c *client.Client, args []string) error {
			in, err := openFileOrStdin(args[0], a.streams.In)
			if err != nil {
				return err
			}
			defer in.Close()
			result, _, err := c.RestoreSnapshot(ctx, in)
			if err != nil {
				return err
			}
			return a.printMessage(result, "restored %s from %s", byteSize(result.Bytes), args[0])
		}),
	}
}
