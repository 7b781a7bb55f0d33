package bench

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Failover retry policy: retriersPerSurvivor clients per surviving master
// each send a create, wait retryPause after a failure and send again.
const (
	retriersPerSurvivor = 4
	retryPause          = 5 * time.Millisecond
	attemptTimeout      = time.Second
	failoverLimit       = 60 * time.Second
)

// MeasureFailovers kills the leader kills times. Each time it returns the
// time from the SIGKILL to the first 2xx create through a survivor, then
// restarts the killed master and waits until it has caught up.
func MeasureFailovers(ctx context.Context, c *Cluster, client *Client, kills int, logf func(string, ...any)) ([]time.Duration, error) {
	var times []time.Duration
	for i := range kills {
		leader, err := c.Leader(ctx)
		if err != nil {
			return times, err
		}
		took, err := killAndTime(ctx, c, client, leader, i)
		if err != nil {
			return times, fmt.Errorf("kill %d of %s: %w", i+1, leader.ID, err)
		}
		times = append(times, took)
		logf("kill %d/%d: leader %s, first create after %s", i+1, kills, leader.ID, took.Round(time.Millisecond))
		if err := c.Restart(ctx, leader); err != nil {
			return times, fmt.Errorf("restart %s after kill %d: %w", leader.ID, i+1, err)
		}
		if err := c.WaitReady(ctx, c.Masters...); err != nil {
			return times, err
		}
	}
	return times, nil
}

func killAndTime(ctx context.Context, c *Cluster, client *Client, leader *Master, round int) (time.Duration, error) {
	survivors := c.Followers(leader)
	start := time.Now()
	if err := c.Kill(leader); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, failoverLimit)
	defer cancel()

	var once sync.Once
	var firstOK time.Time
	var wg sync.WaitGroup
	for i := range retriersPerSurvivor * len(survivors) {
		target := survivors[i%len(survivors)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			if retryCreate(ctx, client, target, fmt.Sprintf("f%d", round), i) {
				once.Do(func() {
					firstOK = time.Now()
					cancel()
				})
			}
		}()
	}
	wg.Wait()
	if firstOK.IsZero() {
		return 0, fmt.Errorf("no create succeeded within %s of the kill", failoverLimit)
	}
	return firstOK.Sub(start), nil
}

// retryCreate sends creates through target until one succeeds, returning
// true, or ctx ends.
func retryCreate(ctx context.Context, client *Client, target *Master, prefix string, worker int) bool {
	for seq := 0; ctx.Err() == nil; seq++ {
		attempt, cancel := context.WithTimeout(ctx, attemptTimeout)
		_, err := createTask(attempt, client, target, taskBody(prefix, worker, seq))
		cancel()
		if err == nil {
			return true
		}
		select {
		case <-ctx.Done():
		case <-time.After(retryPause):
		}
	}
	return false
}
