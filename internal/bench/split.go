package bench

import (
	"context"
	"fmt"
	"time"
)

// Series read from the masters' metrics to split a create's time.
const (
	createHandlerSum   = `podling_http_request_duration_seconds_sum{method="POST",route="/api/v1/tasks"}`
	createHandlerCount = `podling_http_request_duration_seconds_count{method="POST",route="/api/v1/tasks"}`
	createProposeSum   = `podling_raft_apply_duration_seconds_sum{command="create_task"}`
	createProposeCount = `podling_raft_apply_duration_seconds_count{command="create_task"}`
	appliedIndex       = `podling_raft_applied_index`
)

// TimeSplit divides the time of a run's creates between Raft and the
// handlers, as means over the run from the masters' own metrics.
type TimeSplit struct {
	// Propose is the leader's time from proposing a create to its commit
	// and apply, which includes waiting for the batch before it.
	Propose time.Duration
	// LeaderHandler is the leader's time in the create handler, from
	// reading the request to writing the response.
	LeaderHandler time.Duration
	// FollowerHandler is the serving follower's time in the handler,
	// forwarding included. It is zero when the leader served the run.
	FollowerHandler time.Duration
	// CommandsPerEntry is the number of creates per Raft entry.
	CommandsPerEntry float64
}

func (s TimeSplit) String() string {
	text := fmt.Sprintf("propose %s, leader handler %s", ms(s.Propose), ms(s.LeaderHandler))
	if s.FollowerHandler > 0 {
		text += fmt.Sprintf(", follower handler %s", ms(s.FollowerHandler))
	}
	return text + fmt.Sprintf("; %.1f creates per Raft entry", s.CommandsPerEntry)
}

// splitMeter contains the metrics of the leader and of the serving master
// from the start of a run.
type splitMeter struct {
	c                         *Cluster
	leader, serving           *Master
	leaderStart, servingStart map[string]float64
}

func startSplitMeter(ctx context.Context, c *Cluster, leader, serving *Master) (*splitMeter, error) {
	m := &splitMeter{c: c, leader: leader, serving: serving}
	var err error
	if m.leaderStart, err = c.Metrics(ctx, leader); err != nil {
		return nil, err
	}
	if m.servingStart, err = c.Metrics(ctx, serving); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *splitMeter) stop(ctx context.Context) (TimeSplit, error) {
	leaderEnd, err := m.c.Metrics(ctx, m.leader)
	if err != nil {
		return TimeSplit{}, err
	}
	servingEnd, err := m.c.Metrics(ctx, m.serving)
	if err != nil {
		return TimeSplit{}, err
	}
	mean := func(start, end map[string]float64, sum, count string) time.Duration {
		n := end[count] - start[count]
		if n <= 0 {
			return 0
		}
		return time.Duration((end[sum] - start[sum]) / n * float64(time.Second))
	}
	split := TimeSplit{
		Propose:       mean(m.leaderStart, leaderEnd, createProposeSum, createProposeCount),
		LeaderHandler: mean(m.leaderStart, leaderEnd, createHandlerSum, createHandlerCount),
	}
	if m.serving != m.leader {
		split.FollowerHandler = mean(m.servingStart, servingEnd, createHandlerSum, createHandlerCount)
	}
	if entries := leaderEnd[appliedIndex] - m.leaderStart[appliedIndex]; entries > 0 {
		split.CommandsPerEntry = (leaderEnd[createProposeCount] - m.leaderStart[createProposeCount]) / entries
	}
	return split, nil
}
