// Command podling-chaos checks a running Podling cluster under faults. It
// sends task creates and reads through a load balancer while a fault
// script breaks the cluster and heals it, then checks that every
// acknowledged create is on every master, that the masters' states agree,
// that no task ran in two containers, that the history of creates and reads
// is linearizable, and that requests through the load balancer succeeded
// again within a bound. It prints one line, "PASS <name> recovery=<seconds>s" or
// "FAIL <name>: <reason>", and exits 0 or 1.
//
// The fault script is called as "SCRIPT apply" and "SCRIPT heal" in each
// round; deploy/chaos holds the scripts of the three-master demo.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/podling/podling/internal/chaos"
)

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "podling-chaos:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	verdict := chaos.Run(ctx, cfg)
	fmt.Println(verdict)
	if verdict.Err != nil {
		os.Exit(1)
	}
}

func parseFlags(args []string) (chaos.Config, error) {
	cfg := chaos.Config{Log: os.Stderr}
	var masters string
	fs := flag.NewFlagSet("podling-chaos", flag.ContinueOnError)
	scenarioFlags(fs, &cfg, &masters)
	timingFlags(fs, &cfg)
	workloadFlags(fs, &cfg)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "podling-chaos runs a workload against a Podling cluster while a fault script breaks it, then checks the cluster.")
		fmt.Fprintln(fs.Output(), "\nUsage: podling-chaos [flags]")
		fs.PrintDefaults()
	}

	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	cfg.Masters = splitList(masters)
	return cfg, check(cfg, fs.NArg())
}

// scenarioFlags registers what to break and where the cluster is.
func scenarioFlags(fs *flag.FlagSet, cfg *chaos.Config, masters *string) {
	fs.StringVar(&cfg.Name, "name", "no-fault", "scenario name printed in the verdict")
	fs.StringVar(&cfg.Fault, "fault", "", "executable called with \"apply\" and \"heal\" in each round; empty runs the workload without faults")
	fs.IntVar(&cfg.Rounds, "rounds", 1, "number of faults, one after another")
	fs.StringVar(&cfg.LB, "lb", "http://127.0.0.1:8070", "load balancer URL the workload uses")
	fs.StringVar(masters, "masters", "http://127.0.0.1:18070,http://127.0.0.1:18071,http://127.0.0.1:18072", "comma-separated API URLs of every master, read directly by the checks")
	fs.StringVar(&cfg.Docker, "docker", "docker", "docker CLI used to count task containers")
	fs.BoolVar(&cfg.RemoveContainers, "remove-containers", true, "remove the run's exited task containers after a passing run")
}

// timingFlags registers the phases of a run and the bounds of its waits.
func timingFlags(fs *flag.FlagSet, cfg *chaos.Config) {
	fs.DurationVar(&cfg.Warmup, "warmup", 3*time.Second, "workload before the first fault")
	fs.DurationVar(&cfg.Hold, "hold", 8*time.Second, "time each fault stays in place")
	fs.DurationVar(&cfg.Settle, "settle", 3*time.Second, "workload after each heal, once the cluster is ready")
	fs.DurationVar(&cfg.RecoveryBound, "recovery-bound", 30*time.Second, "longest time after a fault until a create or read through the load balancer succeeds")
	fs.DurationVar(&cfg.ConvergeTimeout, "converge-timeout", 2*time.Minute, "bound of each wait for readiness, finished tasks and agreeing masters")
	fs.DurationVar(&cfg.CheckTimeout, "check-timeout", time.Minute, "bound of the linearizability check")
}

// workloadFlags registers the clients and their requests.
func workloadFlags(fs *flag.FlagSet, cfg *chaos.Config) {
	fs.IntVar(&cfg.Creators, "creators", 2, "clients creating tasks")
	fs.IntVar(&cfg.Readers, "readers", 2, "clients listing tasks")
	fs.DurationVar(&cfg.CreateInterval, "create-interval", time.Second, "pause of each creator between creates")
	fs.DurationVar(&cfg.ReadInterval, "read-interval", 250*time.Millisecond, "pause of each reader between reads")
	fs.DurationVar(&cfg.RequestTimeout, "request-timeout", 5*time.Second, "bound of one create and of the checks' requests")
	fs.DurationVar(&cfg.ReadTimeout, "read-timeout", 2*time.Second, "bound of one read of the workload; a failed read is not retried but counted")
	fs.DurationVar(&cfg.RetryDelay, "retry-delay", 250*time.Millisecond, "pause before a create is sent again with its key")
	fs.DurationVar(&cfg.CreateGiveUp, "create-give-up", 30*time.Second, "time after which a create is no longer retried; its outcome is then read from the final state")
	fs.DurationVar(&cfg.SampleInterval, "sample-interval", 2*time.Second, "time between counts of task containers")
	fs.StringVar(&cfg.Image, "image", "podling/echo:dev", "image of the created tasks; it must exit 0 with ECHO_EXIT_CODE=0")
}

func check(cfg chaos.Config, extra int) error {
	switch {
	case extra > 0:
		return errors.New("no arguments expected, only flags")
	case cfg.Rounds < 1:
		return fmt.Errorf("-rounds must be at least 1, got %d", cfg.Rounds)
	case cfg.Creators < 1:
		return fmt.Errorf("-creators must be at least 1, got %d", cfg.Creators)
	case len(cfg.Masters) == 0:
		return errors.New("-masters names no master")
	}
	return nil
}

// splitList splits a comma-separated list, dropping blanks around items.
func splitList(s string) []string {
	var items []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, strings.TrimRight(item, "/"))
		}
	}
	return items
}
