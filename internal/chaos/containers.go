package chaos

import (
	"context"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"time"
)

// labelTaskID is the Docker label workers put on every task container.
const labelTaskID = "podling.task-id"

// dupTracker records, for each task, the largest number of containers
// seen at once.
type dupTracker struct {
	docker string
	mu     sync.Mutex
	peak   map[string]int
}

func newDupTracker(docker string) *dupTracker {
	return &dupTracker{docker: docker, peak: make(map[string]int)}
}

// sample counts the containers of every task once. A failed count during
// the run is skipped: the final count must work, and is checked.
func (d *dupTracker) sample(ctx context.Context) error {
	counts, err := containerCounts(ctx, d.docker)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, n := range counts {
		d.peak[id] = max(d.peak[id], n)
	}
	return nil
}

// duplicates returns, sorted, the tasks among ids that had more than one
// container at some sample.
func (d *dupTracker) duplicates(ids map[string]bool) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var dups []string
	for id, n := range d.peak {
		if n > 1 && ids[id] {
			dups = append(dups, fmt.Sprintf("%s (%d containers)", id, n))
		}
	}
	sort.Strings(dups)
	return dups
}

// containerCounts returns the number of containers, in any state, that
// carry each task ID.
func containerCounts(ctx context.Context, docker string) (map[string]int, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, docker, "ps", "-a", "--no-trunc",
		"--filter", "label="+labelTaskID, "--format", `{{.Label "`+labelTaskID+`"}}`).Output()
	if err != nil {
		return nil, fmt.Errorf("list task containers: %w", err)
	}
	counts := make(map[string]int)
	for _, id := range strings.Fields(string(out)) {
		counts[id]++
	}
	return counts, nil
}

// removeExited removes the exited containers of the given tasks, so that
// long soaks do not pile up containers. Workers never look at containers
// of finished tasks again.
func removeExited(ctx context.Context, docker string, ids map[string]bool) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, docker, "ps", "-a", "--no-trunc", "--filter", "status=exited",
		"--filter", "label="+labelTaskID, "--format", `{{.ID}} {{.Label "`+labelTaskID+`"}}`).Output()
	if err != nil {
		return fmt.Errorf("list exited task containers: %w", err)
	}
	var victims []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 2 && ids[fields[1]] {
			victims = append(victims, fields[0])
		}
	}
	for len(victims) > 0 {
		batch := victims[:min(len(victims), 100)]
		victims = victims[len(batch):]
		if out, err := exec.CommandContext(ctx, docker, append([]string{"rm"}, batch...)...).CombinedOutput(); err != nil {
			return fmt.Errorf("remove task containers: %w: %s", err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}
