// Package chaos checks a running Podling cluster under faults. It sends a
// workload of task creates (with idempotency keys) and task reads through a
// load balancer, while a fault script breaks the cluster and heals it.
// Then it checks that nothing acknowledged was lost, that the masters
// agree, that no task ran twice and that the history is linearizable. It
// also checks that requests through the load balancer succeeded again
// within a bound after each fault.
package chaos

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"time"
)

// Config is one chaos run.
type Config struct {
	// Name is the scenario's name, for the verdict.
	Name string
	// LB is the load balancer's URL; Masters are the masters' API URLs,
	// read directly for the final checks.
	LB      string
	Masters []string
	// Fault is an executable called as "Fault apply" and "Fault heal" in
	// each round. Without one the rounds only run the workload.
	Fault  string
	Rounds int
	// Warmup is the workload before the first fault, Hold how long each
	// fault stays, Settle the workload after each heal.
	Warmup, Hold, Settle time.Duration
	// RecoveryBound is the longest time after a fault until a create or a
	// linearizable read through the load balancer succeeds.
	RecoveryBound time.Duration
	// ConvergeTimeout bounds each wait for the cluster to become ready and
	// for its tasks to finish and the masters to agree.
	ConvergeTimeout time.Duration

	Creators, Readers            int
	CreateInterval, ReadInterval time.Duration
	// RequestTimeout bounds one HTTP request, ReadTimeout one read of the
	// workload. A create is retried with its key every RetryDelay until
	// CreateGiveUp has passed.
	RequestTimeout, ReadTimeout, RetryDelay, CreateGiveUp time.Duration
	// SampleInterval is the time between counts of task containers.
	SampleInterval time.Duration
	// Image is the image of the created tasks. It must exit 0 when
	// ECHO_EXIT_CODE=0 is set.
	Image string
	// Docker is the docker CLI, used to count task containers.
	Docker string
	// RemoveContainers removes the run's exited task containers after a
	// passing run.
	RemoveContainers bool
	// CheckTimeout bounds the linearizability check.
	CheckTimeout time.Duration
	// Log receives progress lines and the fault script's output.
	Log io.Writer
}

// Verdict is the outcome of a run: the longest recovery seen, or why it
// failed.
type Verdict struct {
	Name     string
	Recovery time.Duration
	Err      error
}

// String is the one-line verdict: "PASS name recovery=1.2s" or
// "FAIL name: reason".
func (v Verdict) String() string {
	if v.Err != nil {
		return fmt.Sprintf("FAIL %s: %v", v.Name, v.Err)
	}
	return fmt.Sprintf("PASS %s recovery=%.1fs", v.Name, v.Recovery.Seconds())
}

// runner holds the state of one run.
type runner struct {
	cfg   *Config
	api   *api
	clock clock
	run   string
}

// Run runs the workload and the faults of cfg, then checks the cluster.
func Run(ctx context.Context, cfg Config) Verdict {
	r := &runner{cfg: &cfg, api: newAPI(cfg.RequestTimeout), clock: clock{start: time.Now()}, run: newRunID()}
	recovery, err := r.execute(ctx)
	return Verdict{Name: cfg.Name, Recovery: recovery, Err: err}
}

func (r *runner) execute(ctx context.Context) (time.Duration, error) {
	if err := r.waitReady(ctx, "before the workload"); err != nil {
		return 0, err
	}
	r.logf("run %s: %d round(s) of %q", r.run, r.cfg.Rounds, r.cfg.Name)
	w := newWorkload(r.cfg, r.clock, r.run)
	w.start()
	applied, err := r.rounds(ctx)
	r.logf("stopping the workload")
	w.finish()
	if err != nil {
		return 0, err
	}
	creates, reads, _ := w.hist.snapshot()
	recovery, err := r.recovery(creates, reads, applied)
	if err != nil {
		return recovery, err
	}
	return recovery, r.check(ctx, w)
}

// rounds injects and heals the faults, and returns when each fault was in
// place, in workload time.
func (r *runner) rounds(ctx context.Context) ([]int64, error) {
	if err := sleep(ctx, r.cfg.Warmup); err != nil {
		return nil, err
	}
	var applied []int64
	for round := 1; round <= r.cfg.Rounds; round++ {
		at, err := r.round(ctx, round)
		if err != nil {
			return applied, err
		}
		applied = append(applied, at)
		if err := r.waitReady(ctx, fmt.Sprintf("after round %d", round)); err != nil {
			return applied, err
		}
		if err := sleep(ctx, r.cfg.Settle); err != nil {
			return applied, err
		}
	}
	return applied, nil
}

// round applies one fault, holds it and heals it. It returns when the
// fault was in place. The fault is healed even when ctx ends, so an
// interrupted run leaves the cluster whole.
func (r *runner) round(ctx context.Context, round int) (int64, error) {
	if r.cfg.Fault == "" {
		at := r.clock.now()
		return at, sleep(ctx, r.cfg.Hold)
	}
	r.logf("round %d: apply", round)
	heal := func() error { return r.fault(context.WithoutCancel(ctx), "heal") }
	if err := r.fault(ctx, "apply"); err != nil {
		// Undo whatever part of the fault took effect.
		_ = heal()
		return 0, err
	}
	at := r.clock.now()
	holdErr := sleep(ctx, r.cfg.Hold)
	r.logf("round %d: heal", round)
	if err := heal(); err != nil {
		return at, err
	}
	return at, holdErr
}

// sleep waits for d, or until ctx ends, and then returns its error.
func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return fmt.Errorf("interrupted: %w", ctx.Err())
	case <-time.After(d):
		return nil
	}
}

// recovery returns the longest time from a fault until the first
// successful response through the load balancer to a request sent after it.
func (r *runner) recovery(creates []createOp, reads []readOp, applied []int64) (time.Duration, error) {
	var longest time.Duration
	for i, at := range applied {
		took, ok := firstSuccessAfter(creates, reads, at)
		if !ok || took > r.cfg.RecoveryBound {
			return longest, fmt.Errorf("round %d: no successful response through the load balancer within %s of the fault", i+1, r.cfg.RecoveryBound)
		}
		r.logf("round %d: first successful response %.1fs after the fault", i+1, took.Seconds())
		longest = max(longest, took)
	}
	return longest, nil
}

// waitReady waits until GET /ready succeeds on every master and on the load balancer.
func (r *runner) waitReady(ctx context.Context, when string) error {
	urls := append([]string{r.cfg.LB}, r.cfg.Masters...)
	return r.poll(ctx, "cluster ready "+when, func(ctx context.Context) error {
		for _, u := range urls {
			if err := r.api.ready(ctx, u); err != nil {
				return fmt.Errorf("%s not ready: %w", u, err)
			}
		}
		return nil
	})
}

// poll calls try every quarter second until it returns nil, or until
// ConvergeTimeout has passed, and then returns its last error.
func (r *runner) poll(ctx context.Context, what string, try func(context.Context) error) error {
	deadline := time.Now().Add(r.cfg.ConvergeTimeout)
	for {
		err := try(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("waiting for %s for %s: %w", what, r.cfg.ConvergeTimeout, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (r *runner) logf(format string, args ...any) {
	if r.cfg.Log != nil {
		fmt.Fprintf(r.cfg.Log, "[%6.1fs] %s\n", time.Duration(r.clock.now()).Seconds(), fmt.Sprintf(format, args...))
	}
}

// newRunID returns eight random lowercase letters and digits.
func newRunID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
