package chaos

import (
	"context"
	"fmt"
	"os/exec"
	"time"
)

// faultStepTimeout bounds one call of the fault script.
const faultStepTimeout = 2 * time.Minute

// fault runs one step of the fault script, "apply" or "heal", with its
// output going to the log.
func (r *runner) fault(ctx context.Context, step string) error {
	ctx, cancel := context.WithTimeout(ctx, faultStepTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.cfg.Fault, step)
	cmd.Stdout = r.cfg.Log
	cmd.Stderr = r.cfg.Log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("fault script %s %s: %w", r.cfg.Fault, step, err)
	}
	return nil
}
