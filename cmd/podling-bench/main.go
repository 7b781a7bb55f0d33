// Command podling-bench measures Podling on loopback against a bare Raft
// baseline and prints the figures as Markdown; `make bench` runs it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/podling/podling/internal/bench"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "podling-bench:", err)
		os.Exit(1)
	}
}

// overrides are flags that replace one value of the chosen preset when set.
type overrides struct {
	concurrency                                   string
	raftWindow, writeWindow, readWindow, hbWindow time.Duration
	readClients, kills, hbWorkers, dispatch       int
	tasks, pods, scaleClients                     int
}

type options struct {
	smoke     bool
	out       string
	goTool    string
	masterBin string
	overrides
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("podling-bench", flag.ContinueOnError)
	fs.BoolVar(&o.smoke, "smoke", false, "run every phase briefly (a few hundred ms per figure, 5 kills, 500 workers for 3s, 2000 tasks) to check that the benchmark works")
	fs.StringVar(&o.out, "out", "", "Markdown file to write the results into, such as docs/BENCHMARKS.md; empty prints them only")
	fs.StringVar(&o.goTool, "go", "go", "go command used to build podling-master")
	fs.StringVar(&o.masterBin, "master-bin", "", "podling-master binary to run; empty builds one from this module into a temporary directory")
	fs.StringVar(&o.concurrency, "clients", "", "comma-separated client counts of the create runs (default 1,16,64)")
	fs.DurationVar(&o.raftWindow, "raft-window", 0, "length of each bare-Raft apply run")
	fs.DurationVar(&o.writeWindow, "write-window", 0, "length of each create run")
	fs.DurationVar(&o.readWindow, "read-window", 0, "length of each read run")
	fs.IntVar(&o.readClients, "read-clients", 0, "concurrent clients of the read runs")
	fs.IntVar(&o.kills, "kills", 0, "leader kills of the failover runs")
	fs.IntVar(&o.hbWorkers, "heartbeat-workers", 0, "simulated workers of the heartbeat run")
	fs.DurationVar(&o.hbWindow, "heartbeat-window", 0, "length of the heartbeat run")
	fs.IntVar(&o.dispatch, "dispatch-samples", 0, "tasks created one at a time to time dispatch")
	fs.IntVar(&o.tasks, "tasks", 0, "tasks loaded for the scale figures")
	fs.IntVar(&o.pods, "pods", 0, "pods loaded for the scale figures")
	fs.IntVar(&o.scaleClients, "scale-clients", 0, "concurrent clients loading the scale figures")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "podling-bench measures three podling-master processes on loopback against a bare Raft cluster.\n"+
			"Durations and counts default to the full run, or to the smoke run with -smoke; each flag below replaces one of them.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return o, nil
}

// params returns the preset with every set override applied.
func (o options) params() (bench.Params, error) {
	p := bench.Full()
	if o.smoke {
		p = bench.Smoke()
	}
	if o.concurrency != "" {
		var counts []int
		for _, field := range strings.Split(o.concurrency, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(field))
			if err != nil || n < 1 {
				return p, fmt.Errorf("invalid -clients %q: expected positive integers separated by commas", o.concurrency)
			}
			counts = append(counts, n)
		}
		p.Concurrency = counts
	}
	setDuration(&p.RaftWindow, o.raftWindow)
	setDuration(&p.WriteWindow, o.writeWindow)
	setDuration(&p.ReadWindow, o.readWindow)
	setDuration(&p.HeartbeatWindow, o.hbWindow)
	setInt(&p.ReadClients, o.readClients)
	setInt(&p.Kills, o.kills)
	setInt(&p.HeartbeatWorkers, o.hbWorkers)
	setInt(&p.DispatchSamples, o.dispatch)
	setInt(&p.ScaleTasks, o.tasks)
	setInt(&p.ScalePods, o.pods)
	setInt(&p.ScaleClients, o.scaleClients)
	return p, nil
}

func setDuration(field *time.Duration, value time.Duration) {
	if value > 0 {
		*field = value
	}
}

func setInt(field *int, value int) {
	if value > 0 {
		*field = value
	}
}

func run(args []string) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	p, err := o.params()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	root, err := os.MkdirTemp("", "podling-bench-")
	if err != nil {
		return fmt.Errorf("create temporary directory: %w", err)
	}
	defer os.RemoveAll(root)

	logger := log.New(os.Stderr, "podling-bench: ", log.Ltime|log.Lmicroseconds)
	bin := o.masterBin
	if bin == "" {
		if bin, err = bench.BuildMaster(ctx, o.goTool, root); err != nil {
			return err
		}
	}
	start := time.Now()
	results, err := bench.Run(ctx, p, bin, root, logger.Printf)
	if err != nil {
		return err
	}
	fmt.Println(results.Summary())
	logger.Printf("finished in %s", time.Since(start).Round(time.Second))
	if o.out == "" {
		return nil
	}
	if err := bench.WriteDoc(o.out, results); err != nil {
		return fmt.Errorf("write %s: %w", o.out, err)
	}
	logger.Printf("wrote %s", o.out)
	return nil
}
