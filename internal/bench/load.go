package bench

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

// Summary describes one measured run: operations that succeeded, those that
// failed, the rate of successes, and the latency of successes.
type Summary struct {
	Ops        int
	Errors     int
	Elapsed    time.Duration
	P50, P99   time.Duration
	FirstError string
}

// Rate returns successful operations per second.
func (s Summary) Rate() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Ops) / s.Elapsed.Seconds()
}

func (s Summary) String() string {
	text := fmt.Sprintf("%.0f/s, p50 %s, p99 %s, %d errors", s.Rate(), ms(s.P50), ms(s.P99), s.Errors)
	if s.FirstError != "" {
		text += ", first: " + s.FirstError
	}
	return text
}

// maxOpsPerClient bounds a closed-loop client even when its operation is
// much faster than expected.
const maxOpsPerClient = 5_000_000

// Operation is one request of a load run; worker numbers the client, from
// zero, and seq counts that client's operations.
type Operation func(ctx context.Context, worker, seq int) error

// RunClosedLoop runs clients goroutines that each issue op back to back
// for window, and summarizes the latencies of the operations that
// succeeded.
func RunClosedLoop(ctx context.Context, clients int, window time.Duration, op Operation) Summary {
	ctx, cancel := context.WithTimeout(ctx, window)
	defer cancel()
	results := make([]clientResult, clients)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[w] = runClient(ctx, w, op)
		}()
	}
	wg.Wait()
	return summarize(results, time.Since(start))
}

type clientResult struct {
	latencies  []time.Duration
	errors     int
	firstError string
}

func runClient(ctx context.Context, worker int, op Operation) clientResult {
	var r clientResult
	for seq := 0; seq < maxOpsPerClient && ctx.Err() == nil; seq++ {
		begin := time.Now()
		err := op(ctx, worker, seq)
		took := time.Since(begin)
		switch {
		case err == nil:
			r.latencies = append(r.latencies, took)
		case ctx.Err() != nil:
			// The window closed during this operation, so it does not count.
		default:
			r.errors++
			if r.firstError == "" {
				r.firstError = err.Error()
			}
		}
	}
	return r
}

func summarize(results []clientResult, elapsed time.Duration) Summary {
	var all []time.Duration
	s := Summary{Elapsed: elapsed}
	for _, r := range results {
		all = append(all, r.latencies...)
		s.Errors += r.errors
		if s.FirstError == "" {
			s.FirstError = r.firstError
		}
	}
	s.Ops = len(all)
	s.P50, s.P99 = Percentile(all, 50), Percentile(all, 99)
	return s
}

// Percentile returns the p-th percentile of samples by the nearest-rank
// method, or 0 for no samples. It sorts samples in place.
func Percentile(samples []time.Duration, p float64) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	slices.Sort(samples)
	rank := int(math.Ceil(float64(len(samples))*p/100)) - 1
	return samples[min(max(rank, 0), len(samples)-1)]
}

// Median returns the median of samples without changing their order.
func Median(samples []time.Duration) time.Duration {
	return Percentile(slices.Clone(samples), 50)
}
