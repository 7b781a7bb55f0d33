package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Health is the part of a master's /health response the benchmark reads.
type Health struct {
	ID           string `json:"id"`
	RaftState    string `json:"raftState"`
	LeaderID     string `json:"leaderId"`
	Term         uint64 `json:"term"`
	CommitIndex  uint64 `json:"commitIndex"`
	AppliedIndex uint64 `json:"appliedIndex"`
}

// Health fetches the master's own view of the cluster.
func (c *Cluster) Health(ctx context.Context, m *Master) (Health, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var h Health
	err := c.client.JSON(ctx, http.MethodGet, m.URL()+"/health", nil, &h)
	return h, err
}

// Leader polls the running masters until one is a leader that is ready to
// serve, and returns it.
func (c *Cluster) Leader(ctx context.Context) (*Master, error) {
	var leader *Master
	err := pollUntil(ctx, 30*time.Second, 10*time.Millisecond, "find the leader of "+c.Name, func(ctx context.Context) (bool, error) {
		var lastErr error
		for _, m := range c.Masters {
			if !m.Running() {
				continue
			}
			h, err := c.Health(ctx, m)
			if err != nil {
				lastErr = err
				continue
			}
			if h.RaftState == "Leader" && h.LeaderID == m.ID && c.ready(ctx, m) == nil {
				leader = m
				return true, nil
			}
		}
		return false, lastErr
	})
	return leader, err
}

// Followers returns the running masters other than leader.
func (c *Cluster) Followers(leader *Master) []*Master {
	var out []*Master
	for _, m := range c.Masters {
		if m != leader && m.Running() {
			out = append(out, m)
		}
	}
	return out
}

func (c *Cluster) ready(ctx context.Context, m *Master) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := c.client.Do(ctx, http.MethodGet, m.URL()+"/ready", nil)
	return err
}

// WaitReady polls each master's /ready until it returns 200.
func (c *Cluster) WaitReady(ctx context.Context, masters ...*Master) error {
	for _, m := range masters {
		err := pollUntil(ctx, 60*time.Second, 10*time.Millisecond, "wait for "+c.Name+"/"+m.ID+" to be ready", func(ctx context.Context) (bool, error) {
			if !m.Running() {
				return false, fmt.Errorf("master %s exited; see %s", m.ID, m.LogPath)
			}
			err := c.ready(ctx, m)
			return err == nil, err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// WaitCaughtUp waits until m is ready and has applied every entry the
// leader had applied when the wait began.
func (c *Cluster) WaitCaughtUp(ctx context.Context, m *Master) error {
	leader, err := c.Leader(ctx)
	if err != nil {
		return err
	}
	target, err := c.Health(ctx, leader)
	if err != nil {
		return fmt.Errorf("read the leader's applied index: %w", err)
	}
	if err := c.WaitReady(ctx, m); err != nil {
		return err
	}
	return pollUntil(ctx, 60*time.Second, 10*time.Millisecond, fmt.Sprintf("wait for %s/%s to apply index %d", c.Name, m.ID, target.AppliedIndex), func(ctx context.Context) (bool, error) {
		h, err := c.Health(ctx, m)
		return err == nil && h.AppliedIndex >= target.AppliedIndex, err
	})
}

// LeaderChange is one entry of the failover record.
type LeaderChange struct {
	LeaderID string `json:"leaderId"`
	Term     uint64 `json:"term"`
}

// LeaderChanges reads the cluster's failover record through m.
func (c *Cluster) LeaderChanges(ctx context.Context, m *Master) ([]LeaderChange, error) {
	var changes []LeaderChange
	err := c.client.JSON(ctx, http.MethodGet, m.URL()+"/api/v1/cluster/failovers", nil, &changes)
	return changes, err
}

// newerChanges counts the takeovers in after whose term is higher than
// every term in before. The record keeps only the last 100 takeovers, so
// counting by term is exact where comparing lengths is not.
func newerChanges(before, after []LeaderChange) int {
	var newest uint64
	for _, ch := range before {
		newest = max(newest, ch.Term)
	}
	count := 0
	for _, ch := range after {
		if ch.Term > newest {
			count++
		}
	}
	return count
}

// Metrics reads every podling_* and go_memstats_* sample from the master's
// /metrics, keyed by the series as printed, such as
// podling_raft_apply_duration_seconds_count{command="create_task"}.
func (c *Cluster) Metrics(ctx context.Context, m *Master) (map[string]float64, error) {
	data, err := c.client.Do(ctx, http.MethodGet, m.URL()+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	scanner := bufio.NewScanner(bytes.NewReader(data))
	scanner.Buffer(make([]byte, 64<<10), 1<<20)
	for scanner.Scan() {
		line := scanner.Text()
		if !strings.HasPrefix(line, "podling_") && !strings.HasPrefix(line, "go_memstats_") {
			continue
		}
		cut := strings.LastIndexByte(line, ' ')
		if cut < 0 {
			continue
		}
		value, err := strconv.ParseFloat(line[cut+1:], 64)
		if err != nil {
			continue
		}
		out[line[:cut]] = value
	}
	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("read metrics of %s: %w", m.ID, err)
	}
	return out, nil
}
