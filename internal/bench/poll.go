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
