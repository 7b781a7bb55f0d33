// Package bench measures a Podling cluster on loopback: a bare hashicorp/raft
// baseline with Podling's settings, then real podling-master processes under
// write, read, failover, heartbeat, dispatch and scale loads.
package bench

import "time"

// Params sets every duration and count of a run.
type Params struct {
	// Smoke marks a scaled-down run, too short for its figures to measure speed.
	Smoke bool
	// Concurrency lists the numbers of clients of the write runs.
	Concurrency []int
	// RaftWindow and WriteWindow are the lengths of one bare-Raft run and of
	// one Podling create run at one concurrency.
	RaftWindow  time.Duration
	WriteWindow time.Duration
	// ReadClients and ReadWindow shape the read runs.
	ReadClients int
	ReadWindow  time.Duration
	// Kills is the number of leader kills, for Podling and for bare Raft.
	Kills int
	// HeartbeatWorkers simulated workers send one heartbeat a second each
	// for HeartbeatWindow.
	HeartbeatWorkers int
	HeartbeatWindow  time.Duration
	// DispatchSamples is the number of tasks created one at a time to time
	// the way from create to execute.
	DispatchSamples int
	// ScaleTasks and ScalePods are loaded before RSS and snapshot times are
	// taken, by ScaleClients concurrent clients.
	ScaleTasks   int
	ScalePods    int
	ScaleClients int
	// ScaleBudget bounds the time spent creating them; whatever is missing
	// then comes from a restored snapshot.
	ScaleBudget time.Duration
}

// Full returns the parameters of a full run, about four minutes on two
// cores.
func Full() Params {
	return Params{
		Concurrency: []int{1, 16, 64},
		RaftWindow:  4 * time.Second, WriteWindow: 5 * time.Second,
		ReadClients: 64, ReadWindow: 5 * time.Second,
		Kills:            20,
		HeartbeatWorkers: 10_000, HeartbeatWindow: 30 * time.Second,
		DispatchSamples: 500,
		ScaleTasks:      100_000, ScalePods: 10_000, ScaleClients: 64,
		ScaleBudget: 4 * time.Minute,
	}
}

// Smoke returns the parameters of a run that only checks that every phase
// works: a few hundred milliseconds per figure.
func Smoke() Params {
	return Params{
		Smoke:       true,
		Concurrency: []int{1, 16, 64},
		RaftWindow:  300 * time.Millisecond, WriteWindow: 300 * time.Millisecond,
		ReadClients: 64, ReadWindow: 300 * time.Millisecond,
		Kills:            5,
		HeartbeatWorkers: 500, HeartbeatWindow: 3 * time.Second,
		DispatchSamples: 20,
		ScaleTasks:      2_000, ScalePods: 200, ScaleClients: 32,
		ScaleBudget: 2 * time.Minute,
	}
}
