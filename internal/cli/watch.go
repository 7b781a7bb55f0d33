package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/podling/podling/internal/client"
)

// render is one result of a list, ready to print.
type render struct {
	// print writes the result in the chosen output format.
	print func(w io.Writer) error
	// key changes only when the content changes, unlike the printed
	// table, whose ages move on by themselves.
	key string
}

// fetchFunc reads a list with the given consistency.
type fetchFunc func(ctx context.Context, o client.ReadOptions) (render, client.Meta, error)

// watchFallbackWait paces a watch when the master sends no index to wait
// for; every list of the current API sends one.
const watchFallbackWait = 2 * time.Second

// clearScreen moves the cursor home and clears a terminal.
const clearScreen = "\x1b[H\x1b[2J"

func addWatchFlag(cmd *cobra.Command, watch *bool) {
	cmd.Flags().BoolVarP(watch, "watch", "w", false, "print the list again each time it changes, until interrupted")
}

// list prints a list once, or with watch until ctx ends.
func (a *app) list(ctx context.Context, watch bool, fetch fetchFunc) error {
	if !watch {
		r, _, err := fetch(ctx, client.ReadOptions{})
		if err != nil {
			return err
		}
		return r.print(a.out())
	}
	return a.watch(ctx, fetch)
}

// watch prints a list, then long-polls with ?minIndex= for the next
// index and prints the list again when its content changed. It returns
// nil when ctx ends.
func (a *app) watch(ctx context.Context, fetch fetchFunc) error {
	r, meta, err := fetch(ctx, client.ReadOptions{})
	if err != nil {
		return err
	}
	if err := r.print(a.out()); err != nil {
		return err
	}
	index, key := meta.Index, r.key
	for {
		next, meta, err := fetch(ctx, client.ReadOptions{MinIndex: index + 1})
		switch {
		case ctx.Err() != nil:
			return nil
		case client.IsUnavailable(err):
			continue // the master's wait ended with no new index
		case err != nil:
			return err
		}
		if meta.Index <= index {
			if sleepContext(ctx, watchFallbackWait) != nil {
				return nil
			}
		}
		index = max(index, meta.Index)
		if next.key == key {
			continue
		}
		key = next.key
		if err := a.reprint(next); err != nil {
			return err
		}
	}
}

// reprint prints a changed list: on a terminal over the last one, and
// else after it, separated as the output format allows.
func (a *app) reprint(r render) error {
	separator := "\n"
	switch {
	case a.streams.Terminal:
		separator = clearScreen
	case a.output == "yaml":
		separator = "---\n"
	case a.output == "json":
		separator = ""
	}
	if _, err := io.WriteString(a.out(), separator); err != nil {
		return err
	}
	return r.print(a.out())
}

// listRender returns the render of a list of T as the table t, keyed by
// keyOf, which may leave out fields that change without interest.
func listRender[T any](a *app, t table[T], items []T, keyOf func([]T) any) render {
	var keyed any = items
	if keyOf != nil {
		keyed = keyOf(items)
	}
	data, err := json.Marshal(keyed)
	key := string(data)
	if err != nil {
		key = fmt.Sprint(keyed)
	}
	return render{
		print: func(w io.Writer) error { return printList(a, w, t, items) },
		key:   key,
	}
}

func sleepContext(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
