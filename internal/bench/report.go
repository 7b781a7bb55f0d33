package bench

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Target is one goal with whether the run met it.
type Target struct {
	Goal     string
	Measured string
	Met      bool
}

// Targets checks the run against Podling's performance goals.
func (r *Results) Targets() []Target {
	top := slices.Max(r.Params.Concurrency)
	bottom := slices.Min(r.Params.Concurrency)

	follower, bare := r.CreatesFollower[top], r.Bare[top]
	share := ratio(follower.Rate(), bare.Rate())
	latency := ratio(r.CreatesFollower[bottom].P50.Seconds(), r.Bare[bottom].P50.Seconds())
	bestCreates := max(r.CreatesLeader[top].Rate(), follower.Rate())
	reads := ratio(r.ReadsLinear.Rate(), bestCreates)
	median, worst := Median(r.Failovers), slices.Max(append([]time.Duration{0}, r.Failovers...))
	maxRSS := int64(0)
	for _, rss := range r.Scale.RSS {
		maxRSS = max(maxRSS, rss)
	}
	backup := r.Scale.SnapshotTime + r.Scale.RestoreTime
	hb := r.Heartbeats

	return []Target{
		{fmt.Sprintf("creates via a follower at %d clients >= 70%% of bare Raft at %d", top, top),
			fmt.Sprintf("%.0f%% (%.0f/s against %.0f/s)", share*100, follower.Rate(), bare.Rate()), share >= 0.7},
		{fmt.Sprintf("create p50 via a follower at %s <= 1.5x bare Raft's", plural(bottom, "client")),
			fmt.Sprintf("%.3fx (%s against %s)", latency, ms(r.CreatesFollower[bottom].P50), ms(r.Bare[bottom].P50)), latency > 0 && latency <= 1.5},
		{"linearizable GETs >= 3x the create rate",
			fmt.Sprintf("%.3fx (%.0f/s against %.0f/s)", reads, r.ReadsLinear.Rate(), bestCreates), reads >= 3},
		{fmt.Sprintf("failover median <= 1.0 s and max <= 2 s over %d kills", len(r.Failovers)),
			fmt.Sprintf("median %s, max %s", ms(median), ms(worst)), len(r.Failovers) > 0 && median <= time.Second && worst <= 2*time.Second},
		{"heartbeat load <= 2 Raft entries/s and < 1 core on the leader",
			fmt.Sprintf("%.2f entries/s, %.2f cores", hb.EntriesPerSecond(), hb.CoresUsed()), hb.Sent > 0 && hb.EntriesPerSecond() <= 2 && hb.CoresUsed() < 1},
		{"submit to dispatch p50 <= 10 ms",
			ms(r.Dispatch.P50), r.Dispatch.Samples > 0 && r.Dispatch.P50 <= 10*time.Millisecond},
		{fmt.Sprintf("RSS <= 300 MB per master at %d tasks + %d pods", r.Scale.Tasks, r.Scale.Pods),
			fmt.Sprintf("max %s", mb(maxRSS)), maxRSS > 0 && maxRSS <= 300<<20},
		{"snapshot + restore <= 2 s",
			fmt.Sprintf("%s (%s + %s)", ms(backup), ms(r.Scale.SnapshotTime), ms(r.Scale.RestoreTime)), r.Scale.RestoreTime > 0 && backup <= 2*time.Second},
	}
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func ms(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

func mb(bytes int64) string { return fmt.Sprintf("%.0f MB", float64(bytes)/(1<<20)) }

func rate(s Summary) string {
	text := fmt.Sprintf("%.0f/s", s.Rate())
	if s.Errors > 0 {
		text += fmt.Sprintf(" (%d errors)", s.Errors)
	}
	return text
}

func latencies(s Summary) string { return ms(s.P50) + " / " + ms(s.P99) }

func commandCounts(counts map[string]float64) string {
	commands := make([]string, 0, len(counts))
	for command := range counts {
		commands = append(commands, command)
	}
	slices.Sort(commands)
	parts := make([]string, 0, len(commands))
	for _, command := range commands {
		parts = append(parts, fmt.Sprintf("%s %.0f", command, counts[command]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func loadText(l LoadProgress, want int) string {
	if !l.Windowed {
		return fmt.Sprintf("%d of %d in %s: %.0f/s", l.Loaded, want, ms(l.Took), l.Rate())
	}
	return fmt.Sprintf("%d of %d in %s: %.0f/s overall, %.0f/s in the first %s, %.0f/s in the last",
		l.Loaded, want, ms(l.Took), l.Rate(), l.FirstRate, progressInterval, l.LastRate)
}

// table collects the rows of a Markdown table.
type table struct{ rows [][]string }

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) String() string {
	var b strings.Builder
	for i, row := range t.rows {
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
		if i == 0 {
			b.WriteString(strings.Repeat("|---", len(row)) + "|\n")
		}
	}
	return b.String()
}

// FiguresTable returns every figure, with the bare-Raft figure and the
// ratio beside each Podling figure that has a counterpart.
func (r *Results) FiguresTable() string {
	t := &table{}
	t.add("figure", "Podling", "bare Raft", "Podling / bare")
	for _, clients := range r.Params.Concurrency {
		bare := r.Bare[clients]
		for _, path := range []struct {
			name string
			run  LoadRun
		}{{"leader", r.CreatesLeader[clients]}, {"follower", r.CreatesFollower[clients]}} {
			name := fmt.Sprintf("creates via %s, %s", path.name, plural(clients, "client"))
			t.add(fmt.Sprintf("%s (%d tasks held before): rate", name, path.run.TasksBefore), rate(path.run.Summary), rate(bare.Summary),
				fmt.Sprintf("%.2f", ratio(path.run.Rate(), bare.Rate())))
			t.add(name+": p50 / p99", latencies(path.run.Summary), latencies(bare.Summary),
				fmt.Sprintf("%.2f / %.2f", ratio(path.run.P50.Seconds(), bare.P50.Seconds()), ratio(path.run.P99.Seconds(), bare.P99.Seconds())))
			t.add(name+": cores used by leader / followers / benchmark", path.run.CPU.String(), fmt.Sprintf("%.2f (one process)", bare.CPU.Bench), "")
			t.add(name+": mean time split", path.run.Split.String(), "", "")
		}
	}
	t.add("leader changes during the create runs", fmt.Sprint(r.WriteLeaderChanges), "", "")
	r.addOtherFigures(t)
	return t.String()
}

func (r *Results) addOtherFigures(t *table) {
	clients := r.Params.ReadClients
	for _, read := range []struct {
		name string
		run  LoadRun
	}{{"linearizable", r.ReadsLinear}, {"stale", r.ReadsStale}} {
		name := fmt.Sprintf("%s GET by ID, %d clients over 3 masters", read.name, clients)
		t.add(name+": rate", rate(read.run.Summary), "", "")
		t.add(name+": p50 / p99", latencies(read.run.Summary), "", "")
		t.add(name+": cores used by leader / followers / benchmark", read.run.CPU.String(), "", "")
	}

	podlingMax := slices.Max(append([]time.Duration{0}, r.Failovers...))
	bareMax := slices.Max(append([]time.Duration{0}, r.BareFailovers...))
	t.add(fmt.Sprintf("failover, kill to first write: median (%d kills)", len(r.Failovers)), ms(Median(r.Failovers)), ms(Median(r.BareFailovers)),
		fmt.Sprintf("%.2f", ratio(Median(r.Failovers).Seconds(), Median(r.BareFailovers).Seconds())))
	t.add("failover, kill to first write: max", ms(podlingMax), ms(bareMax), fmt.Sprintf("%.2f", ratio(podlingMax.Seconds(), bareMax.Seconds())))

	hb := r.Heartbeats
	t.add(fmt.Sprintf("registering %d workers", hb.Workers), ms(hb.RegisterTime), "", "")
	t.add(fmt.Sprintf("heartbeats sent (%d workers, %s)", hb.Workers, hb.Window.Round(time.Second)), fmt.Sprintf("%.0f/s (%d errors)", hb.SentPerSecond(), hb.Errors), "", "")
	t.add("heartbeat p50 / p99", ms(hb.P50)+" / "+ms(hb.P99), "", "")
	t.add("leader changes during registration and heartbeats", fmt.Sprint(hb.LeaderChanges), "", "")
	t.add("heartbeat Raft entries (node_heartbeats) on the leader", fmt.Sprintf("%.2f/s", hb.EntriesPerSecond()), "", "")
	t.add("all Raft entries applied during the heartbeat run", fmt.Sprintf("%.2f/s", hb.AllEntriesPerSecond()), "", "")
	t.add("entries the first leader proposed during the heartbeat run, by command", commandCounts(hb.EntriesByCommand), "", "")
	t.add("leader CPU during the heartbeat run", fmt.Sprintf("%.2f cores", hb.CoresUsed()), "", "")
	t.add("heartbeat run: cores used by leader / followers / benchmark", hb.CPU.String(), "", "")

	t.add(fmt.Sprintf("submit to dispatch, p50 / p99 (%d tasks)", r.Dispatch.Samples), ms(r.Dispatch.P50)+" / "+ms(r.Dispatch.P99), "", "")
	r.addScaleFigures(t)
}

func (r *Results) addScaleFigures(t *table) {
	s := r.Scale
	budget := r.Params.ScaleBudget
	t.add(fmt.Sprintf("creating %d tasks, %d clients, at most %s", s.Tasks, r.Params.ScaleClients, ms(budget*4/5)), loadText(s.TaskLoad, s.Tasks), "", "")
	t.add(fmt.Sprintf("creating %d pods, which stay pending, %d clients", s.Pods, r.Params.ScaleClients), loadText(s.PodLoad, s.Pods), "", "")
	state := "the created objects"
	if s.ToppedUp {
		state = fmt.Sprintf("creates fell short, so a snapshot of %d tasks and %d pods built with the fsm package was restored", s.Tasks, s.Pods)
	}
	t.add("state measured below", state, "", "")
	ids := make([]string, 0, len(s.RSS))
	for id := range s.RSS {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		t.add("RSS of master "+id+" after loading (Go heap in use)", fmt.Sprintf("%s (%s)", mb(s.RSS[id]), mb(s.HeapInUse[id])), "", "")
	}
	t.add(fmt.Sprintf("snapshot download (%s)", mb(int64(s.SnapshotBytes))), ms(s.SnapshotTime), "", "")
	t.add("restore into a fresh cluster, until a follower serves it", ms(s.RestoreTime), "", "")
}

// TargetsTable returns the targets with the measured figure and whether
// each was met.
func (r *Results) TargetsTable() string {
	t := &table{}
	t.add("target", "measured", "met")
	for _, target := range r.Targets() {
		met := "not met"
		if target.Met {
			met = "met"
		}
		t.add(target.Goal, target.Measured, met)
	}
	return t.String()
}

// PhasesTable returns the wall time of each phase.
func (r *Results) PhasesTable() string {
	t := &table{}
	t.add("phase", "wall time")
	var total time.Duration
	for _, p := range r.Phases {
		t.add(p.Name, ms(p.Took))
		total += p.Took
	}
	t.add("total", ms(total))
	return t.String()
}
