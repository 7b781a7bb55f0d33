package chaos

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// check runs every check after the workload stopped, in order, and
// returns the first failure.
func (r *runner) check(ctx context.Context, w *workload) error {
	creates, reads, readErrors := w.hist.snapshot()
	acked := ackedCreates(creates)
	r.logf("history: %d creates (%d acknowledged), %d reads (%d more failed)", len(creates), len(acked), len(reads), readErrors)
	r.logf("failed create attempts, retried: %s", w.hist.failureSummary())
	if err := rejections(creates); err != nil {
		return err
	}
	final, err := r.finalState(ctx)
	if err != nil {
		return err
	}
	if err := hasAcked("the load balancer", final, acked); err != nil {
		return err
	}
	if err := r.mastersAgree(ctx, acked); err != nil {
		return err
	}
	if err := checkLinearizable(creates, reads, keySet(final), r.cfg.CheckTimeout); err != nil {
		return err
	}
	r.logf("history of %d keys is linearizable", len(final.tasks))
	if err := r.singleContainers(ctx, w.dups, final); err != nil {
		return err
	}
	return r.cleanUp(ctx, final)
}

func ackedCreates(creates []createOp) []createOp {
	var acked []createOp
	for _, op := range creates {
		if op.acked {
			acked = append(acked, op)
		}
	}
	return acked
}

// rejections fails on any create the cluster rejected as invalid. A
// fault may delay a create but must not make it invalid.
func rejections(creates []createOp) error {
	for _, op := range creates {
		if op.rejection != "" {
			return fmt.Errorf("create %s was rejected: %s", op.key, op.rejection)
		}
	}
	return nil
}

// finalState waits until every task of the run is completed or failed and
// returns them, read through the load balancer.
func (r *runner) finalState(ctx context.Context) (listing, error) {
	query := "labelSelector=" + url.QueryEscape(labelRun+"="+r.run)
	var final listing
	err := r.poll(ctx, "the run's tasks to finish", func(ctx context.Context) error {
		l, err := r.api.listTasks(ctx, r.cfg.LB, query)
		if err != nil {
			return err
		}
		if n := unfinished(l); n > 0 {
			return fmt.Errorf("%d of %d tasks not finished", n, len(l.tasks))
		}
		final = l
		return nil
	})
	return final, err
}

func unfinished(l listing) int {
	n := 0
	for _, t := range l.tasks {
		if !t.terminal() {
			n++
		}
	}
	return n
}

// hasAcked checks that l holds exactly one task per key, and the
// acknowledged task for each acknowledged create.
func hasAcked(where string, l listing, acked []createOp) error {
	ids, twice := l.keys()
	if len(twice) > 0 {
		sort.Strings(twice)
		return fmt.Errorf("%s has more than one task for key %s", where, twice[0])
	}
	for _, op := range acked {
		if got, ok := ids[op.key]; !ok || got != op.taskID {
			return fmt.Errorf("%s lacks acknowledged task %s (key %s)", where, op.taskID, op.key)
		}
	}
	return nil
}

// mastersAgree reads every master's local copy once they have applied the
// same index, and checks that each holds every acknowledged task and that
// their task lists hash the same.
func (r *runner) mastersAgree(ctx context.Context, acked []createOp) error {
	return r.poll(ctx, "the masters to agree", func(ctx context.Context) error {
		listings, err := r.staleReads(ctx)
		if err != nil {
			return err
		}
		if err := sameIndex(r.cfg.Masters, listings); err != nil {
			return err
		}
		for i, l := range listings {
			if err := hasAcked(r.cfg.Masters[i], l, acked); err != nil {
				return err
			}
		}
		if err := sameHash(r.cfg.Masters, listings); err != nil {
			return err
		}
		r.logf("masters agree at index %d: %d tasks, sha256 %s", listings[0].index, len(listings[0].tasks), listings[0].hash[:16])
		return nil
	})
}

// staleReads reads the whole task list from each master's local copy.
func (r *runner) staleReads(ctx context.Context) ([]listing, error) {
	listings := make([]listing, len(r.cfg.Masters))
	for i, m := range r.cfg.Masters {
		l, err := r.api.listTasks(ctx, m, "stale=true")
		if err != nil {
			return nil, err
		}
		listings[i] = l
	}
	return listings, nil
}

func sameIndex(masters []string, listings []listing) error {
	for i, l := range listings {
		if l.index != listings[0].index {
			return fmt.Errorf("masters at different indexes: %s at %d, %s at %d", masters[0], listings[0].index, masters[i], l.index)
		}
	}
	return nil
}

func sameHash(masters []string, listings []listing) error {
	var parts []string
	differ := false
	for i, l := range listings {
		parts = append(parts, fmt.Sprintf("%s=%s", masters[i], l.hash[:16]))
		differ = differ || l.hash != listings[0].hash
	}
	if differ {
		return fmt.Errorf("state hashes differ at index %d: %s", listings[0].index, strings.Join(parts, " "))
	}
	return nil
}

// singleContainers checks that no task of the run had more than one
// container, in the samples taken during the run or now.
func (r *runner) singleContainers(ctx context.Context, dups *dupTracker, final listing) error {
	if err := dups.sample(ctx); err != nil {
		return err
	}
	ids := taskIDs(final)
	if found := dups.duplicates(ids); len(found) > 0 {
		return fmt.Errorf("task ran in more than one container: %s", strings.Join(found, ", "))
	}
	r.logf("%d tasks, none in more than one container", len(ids))
	return nil
}

func taskIDs(l listing) map[string]bool {
	ids := make(map[string]bool, len(l.tasks))
	for _, t := range l.tasks {
		ids[t.TaskID] = true
	}
	return ids
}

// cleanUp removes the run's exited task containers when configured to.
func (r *runner) cleanUp(ctx context.Context, final listing) error {
	if !r.cfg.RemoveContainers {
		return nil
	}
	if err := removeExited(ctx, r.cfg.Docker, taskIDs(final)); err != nil {
		return fmt.Errorf("clean up: %w", err)
	}
	return nil
}
