package bench

import (
	"context"
	"fmt"
	"time"
)

// pollUntil calls check every interval until it reports done, fails, or
// limit passes. The error on timeout names what was awaited and the last
// reason check gave.
func pollUntil(ctx context.Context, limit, interval time.Duration, what string, check func(context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	var last error
	for {
		done, err := check(ctx)
		if done {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("%s: timed out after %s, last error: %w", what, limit, last)
			}
			return fmt.Errorf("%s: timed out after %s", what, limit)
		case <-ticker.C:
		}
	}
}

// Retry policy for requests that a busy or electing cluster may fail once
// but that must succeed for the run to go on.
const (
	retryAttempts = 5
	retryDelay    = 200 * time.Millisecond
)

// withRetries calls fn until it succeeds, up to retryAttempts times, and
// returns the last error. Only idempotent requests, or those whose
// duplicates do not matter, may be retried.
func withRetries(ctx context.Context, fn func(context.Context) error) error {
	var err error
	for attempt := 1; attempt <= retryAttempts; attempt++ {
		if err = fn(ctx); err == nil || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(retryDelay):
		}
	}
	return fmt.Errorf("%d attempts failed, the last: %w", retryAttempts, err)
}
