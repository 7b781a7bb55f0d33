package bench

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"
)

// Markers around the part of docs/BENCHMARKS.md that a run rewrites. Text
// after the end marker, such as notes on the figures, is kept.
const (
	docBegin = "<!-- podling-bench output begins: `make bench` rewrites up to the end marker -->"
	docEnd   = "<!-- podling-bench output ends -->"
)

// WriteDoc writes the results into the Markdown file at path, replacing
// the part between the markers and keeping the rest.
func WriteDoc(path string, r *Results) error {
	generated := docBegin + "\n" + r.Markdown() + docEnd + "\n"
	old, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return os.WriteFile(path, []byte("# Benchmarks\n\n"+generated), 0o644)
	case err != nil:
		return fmt.Errorf("read %s: %w", path, err)
	}
	text := string(old)
	begin, end := strings.Index(text, docBegin), strings.Index(text, docEnd)
	if begin < 0 || end < begin {
		return fmt.Errorf("%s lacks the markers %q and %q; remove the file or add them", path, docBegin, docEnd)
	}
	text = text[:begin] + generated + strings.TrimPrefix(text[end+len(docEnd):], "\n")
	return os.WriteFile(path, []byte(text), 0o644)
}

// Markdown returns the report: where and how it was measured, the
// figures, the targets and the time each phase took.
func (r *Results) Markdown() string {
	var b strings.Builder
	machine := ""
	if r.Machine != "" {
		machine = " (" + r.Machine + ")"
	}
	fmt.Fprintf(&b, "Measured on %s by podling-bench on a machine with %d cores by runtime.NumCPU%s, %s, %s/%s. "+
		"The machine may have been shared with other work during the run.\n\n",
		r.Date.Format("2006-01-02 15:04 MST"), r.Cores, machine, r.GoVersion, runtime.GOOS, runtime.GOARCH)
	b.WriteString(r.smokeWarning())
	b.WriteString("## Method\n\n" + r.method() + "\n")
	b.WriteString("## Figures\n\n" + r.FiguresTable() + "\n")
	b.WriteString("## Targets\n\n" + r.TargetsTable() + "\n")
	b.WriteString("## Phase times\n\n" + r.PhasesTable() + "\n")
	return b.String()
}

func (r *Results) method() string {
	p := r.Params
	timing := podlingTiming()
	lines := []string{
		fmt.Sprintf("Everything runs on loopback on one machine. The bare-Raft baseline is three hashicorp/raft members in the benchmark's process. "+
			"Each has a raft-boltdb v2 store, a log cache of %d entries, a file snapshot store keeping %d snapshots and a TCP transport, "+
			"with Podling's snapshot settings (threshold %d, interval %s, %d trailing logs) and timeouts "+
			"(heartbeat %s, election %s, leader lease %s, taken from cluster.DefaultTiming). "+
			"Their state machine only counts entries, and the clients apply 256-byte commands on the leader for %s at each concurrency.",
			logCacheSize, snapshotsRetained, snapshotThreshold, snapshotInterval, trailingLogs,
			timing.Heartbeat, timing.Election, timing.LeaderLease, p.RaftWindow),
		fmt.Sprintf("Podling figures come from three `podling-master` processes built from this tree, founded with `-peers` on loopback ports, data in temporary directories, "+
			"logging at the default level to files. Every client is closed-loop over kept-alive HTTP connections. "+
			"Create runs last %s each and alternate between the leader and one follower, at each concurrency in turn. "+
			"That cluster has no nodes, so its tasks stay pending and accumulate over the runs. "+
			"The time split of each run comes from the masters' own histograms, as means over the run. "+
			"Propose is the leader's `podling_raft_apply_duration_seconds` for create_task, from proposing to applying. "+
			"The handlers are `podling_http_request_duration_seconds` for POST /api/v1/tasks on the leader and on the serving follower. "+
			"Creates per Raft entry divides the leader's create_task count by the growth of `podling_raft_applied_index`.", p.WriteWindow),
		fmt.Sprintf("Reads GET tasks created by the write runs, by ID, spread evenly over the three masters, for %s each. "+
			"Failover: the leader gets SIGKILL %d times; %d clients per survivor send creates, each retrying %s after a failure with a %s timeout, "+
			"and the figure is the time from the kill to the first 2xx. The killed master is restarted and must be ready and caught up before the next kill. "+
			"The bare-Raft failover shuts its leader down (no leadership transfer) and times until another member is leader and an Apply commits.",
			p.ReadWindow, p.Kills, retriersPerSurvivor, retryPause, attemptTimeout),
		fmt.Sprintf("Heartbeats run on a fresh cluster, where 64 concurrent clients register %d simulated workers. Then %d goroutines send each worker's heartbeat "+
			"once a second for %s, spread evenly over the second and over the three masters. A heartbeat still unsent when the window closes is dropped. Raft entries are the leader's "+
			"`podling_raft_apply_duration_seconds_count{command=\"node_heartbeats\"}` and `podling_raft_applied_index` before and after; "+
			"CPU is utime+stime of the leader process from /proc divided by the wall time.",
			p.HeartbeatWorkers, min(heartbeatSenders, p.HeartbeatWorkers), p.HeartbeatWindow),
		fmt.Sprintf("Submit to dispatch: a fresh cluster with one node, a stub worker in the benchmark's process with capacity 10000 that returns 202 to every execute. "+
			"%d tasks are created one at a time through the leader; the figure runs from the create's 2xx to the execute's arrival. "+
			"After each one the stub reports the task running and completed before the next create.", p.DispatchSamples),
		fmt.Sprintf("Scale: a fresh cluster with no nodes is loaded by %d concurrent clients through the leader with %d tasks, for at most %s, "+
			"then %d pods, for the rest of %s. Tasks stay pending; pods stay pending and each is marked Unschedulable once. "+
			"When the creates fall short, a snapshot holding all %d tasks and %d pods, built in the benchmark's process with the fsm package, "+
			"is restored into that cluster through POST /api/v1/cluster/snapshot/restore, replacing what was created. "+
			"RSS is VmRSS from /proc, and the Go heap is go_memstats_heap_inuse_bytes, read once every master has applied everything "+
			"and before anything lists the tasks. "+
			"The snapshot is a GET /api/v1/cluster/snapshot from the leader; the restore POSTs it to the leader of another fresh cluster and is timed until "+
			"a follower of that cluster serves a task of the snapshot with ?stale=true. A restore replaces the state in one step; "+
			"a full stale listing on that follower then checks the task count.",
			p.ScaleClients, p.ScaleTasks, ms(p.ScaleBudget*4/5), p.ScalePods, ms(p.ScaleBudget), p.ScaleTasks, p.ScalePods),
		"Percentiles are nearest-rank over every successful request of a run. Ratios are Podling over bare Raft, " +
			"so above 1 is better for rates and below 1 is better for latencies. " +
			"The create-rate comparison for reads uses the higher of the two create rates at the top concurrency.",
	}
	return strings.Join(lines, "\n\n") + "\n"
}

// Summary returns the figures and targets as Markdown for a terminal.
func (r *Results) Summary() string {
	return r.smokeWarning() + "## Figures\n\n" + r.FiguresTable() + "\n## Targets\n\n" + r.TargetsTable() + "\n## Phase times\n\n" + r.PhasesTable()
}

// smokeWarning is the caveat printed above the figures of a smoke run.
func (r *Results) smokeWarning() string {
	if !r.Params.Smoke {
		return ""
	}
	return "This is a smoke run: its windows and counts are too small for the figures to mean anything.\n\n"
}
