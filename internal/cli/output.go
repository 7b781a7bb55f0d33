package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"sigs.k8s.io/yaml"
)

// column is one column of a table of T.
type column[T any] struct {
	header string
	// wide columns are shown with -o wide only.
	wide  bool
	value func(T) string
}

// table prints items of T in the columns cols.
type table[T any] struct {
	cols []column[T]
}

// write prints a header line and one aligned line per item. Empty cells
// print as "-".
func (t table[T]) write(w io.Writer, items []T, wide bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	var headers []string
	for _, c := range t.cols {
		if wide || !c.wide {
			headers = append(headers, c.header)
		}
	}
	fmt.Fprintln(tw, strings.Join(headers, "\t"))
	for _, item := range items {
		var cells []string
		for _, c := range t.cols {
			if wide || !c.wide {
				cells = append(cells, orDash(c.value(item)))
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// structured reports whether the output format prints objects as data.
func (a *app) structured() bool { return a.output == "json" || a.output == "yaml" }

func (a *app) wide() bool { return a.output == "wide" }

// print writes v as JSON or YAML when that is the output format, and
// otherwise calls text.
func (a *app) print(w io.Writer, v any, text func(w io.Writer) error) error {
	switch a.output {
	case "json":
		data, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return fmt.Errorf("encode JSON: %w", err)
		}
		_, err = fmt.Fprintf(w, "%s\n", data)
		return err
	case "yaml":
		data, err := yaml.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode YAML: %w", err)
		}
		_, err = w.Write(data)
		return err
	}
	return text(w)
}

// printList writes items as a table of t, or as JSON or YAML.
func printList[T any](a *app, w io.Writer, t table[T], items []T) error {
	return a.print(w, items, func(w io.Writer) error { return t.write(w, items, a.wide()) })
}

// printID writes an object's ID in the table formats, or the whole
// object as JSON or YAML, so scripts can capture the ID of what a
// command created or deleted.
func (a *app) printID(v any, id string) error {
	return a.print(a.out(), v, func(w io.Writer) error {
		_, err := fmt.Fprintln(w, id)
		return err
	})
}

// printMessage writes a line of text in the table formats, or v as JSON
// or YAML.
func (a *app) printMessage(v any, format string, args ...any) error {
	return a.print(a.out(), v, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, format+"\n", args...)
		return err
	})
}

// age returns the time since t in its largest whole unit: 45s, 17m, 5h,
// 3d.
func age(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := max(now.Sub(t), 0)
	switch {
	case d < 2*time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < 2*time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// timestamp formats t in UTC to the second, or "" when it is zero.
func timestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
