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
	"path/filepath"
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
		if errors.Is(err, errReported) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "podling-bench:", err)
		os.Exit(1)
	}
}

// errReported marks a command-line error that the flag package has
// already printed, with the usage.
var errReported = errors.New("invalid command line")

// overrides are flags that replace one value of the chosen preset when set.
type overrides struct {
	concurrency                                   string
	raftWindow, writeWindow, readWindow, hbWindow time.Duration
	readClients, kills, hbWorkers, dispatch       int
	tasks, pods, scaleClients                     int
}

type options struct {
	// set names the flags given on the command line.
	set       map[string]bool
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
		fmt.Fprintf(fs.Output(), "\nfull run:  %s\nsmoke run: %s\n", describe(bench.Full()), describe(bench.Smoke()))
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, fmt.Errorf("%w: %w", errReported, err)
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	o.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { o.set[f.Name] = true })
	return o, o.checkOut()
}

// checkOut makes sure the results can be written before the run starts,
// because a full run takes minutes.
func (o options) checkOut() error {
	if o.out == "" {
		return nil
	}
	info, err := os.Stat(filepath.Dir(o.out))
	if err != nil {
		return fmt.Errorf("invalid -out %q: %w", o.out, err)
	}
	if !info.IsDir() {
		return fmt.Errorf("invalid -out %q: %s is not a directory", o.out, filepath.Dir(o.out))
	}
	return nil
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
	durations := []struct {
		flag  string
		field *time.Duration
		value time.Duration
	}{
		{"raft-window", &p.RaftWindow, o.raftWindow}, {"write-window", &p.WriteWindow, o.writeWindow},
		{"read-window", &p.ReadWindow, o.readWindow}, {"heartbeat-window", &p.HeartbeatWindow, o.hbWindow},
	}
	for _, d := range durations {
		if !o.set[d.flag] {
			continue
		}
		if d.value <= 0 {
			return p, fmt.Errorf("invalid -%s %s: expected a positive duration", d.flag, d.value)
		}
		*d.field = d.value
	}
	counts := []struct {
		flag  string
		field *int
		value int
	}{
		{"read-clients", &p.ReadClients, o.readClients}, {"kills", &p.Kills, o.kills},
		{"heartbeat-workers", &p.HeartbeatWorkers, o.hbWorkers}, {"dispatch-samples", &p.DispatchSamples, o.dispatch},
		{"tasks", &p.ScaleTasks, o.tasks}, {"pods", &p.ScalePods, o.pods}, {"scale-clients", &p.ScaleClients, o.scaleClients},
	}
	for _, c := range counts {
		if !o.set[c.flag] {
			continue
		}
		if c.value < 1 {
			return p, fmt.Errorf("invalid -%s %d: expected a positive number", c.flag, c.value)
		}
		*c.field = c.value
	}
	return p, nil
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

// describe lists the durations and counts of a preset, by flag name.
func describe(p bench.Params) string {
	clients := make([]string, len(p.Concurrency))
	for i, n := range p.Concurrency {
		clients[i] = strconv.Itoa(n)
	}
	return fmt.Sprintf("-clients %s -raft-window %s -write-window %s -read-window %s -read-clients %d -kills %d "+
		"-heartbeat-workers %d -heartbeat-window %s -dispatch-samples %d -tasks %d -pods %d -scale-clients %d",
		strings.Join(clients, ","), p.RaftWindow, p.WriteWindow, p.ReadWindow, p.ReadClients, p.Kills,
		p.HeartbeatWorkers, p.HeartbeatWindow, p.DispatchSamples, p.ScaleTasks, p.ScalePods, p.ScaleClients)
}
