package master

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/podling/podling/fsm"
	"github.com/podling/podling/internal/api"
)

// watchLeadership starts the leader-only loops when this master becomes
// leader and stops all of them, in one place, when it stops being leader.
func (m *Master) watchLeadership() {
	stopLoops := func() {}
	defer func() { stopLoops() }()
	for {
		select {
		case <-m.stopCtx.Done():
			return
		case isLeader := <-m.node.LeadershipChanges():
			stopLoops()
			stopLoops = func() {}
			if isLeader {
				stopLoops = m.startLeaderLoops()
			}
		}
	}
}

// startLeaderLoops is the checklist run after the post-election barrier:
// publish this master's API address, then watch node liveness, start
// scheduling and compare placed work with what the workers run.
// It returns the function that stops them.
func (m *Master) startLeaderLoops() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	m.logger.Info("starting leader loops", "term", m.node.Term())
	for _, loop := range []func(context.Context){m.publishAddress, m.recordTakeover, m.tracker.Run, m.scheduler.Run, m.reconciler.Run} {
		m.loops.Add(1)
		go func() {
			defer m.loops.Done()
			loop(ctx)
		}()
	}
	return cancel
}

// publishAddress records this master's API URL in the replicated state,
// retrying until it is committed or ctx ends. The leader proposes it
// directly, so followers can forward to it; a follower sends it to the
// leader, so every master is listed.
func (m *Master) publishAddress(ctx context.Context) {
	for attempt := 1; ctx.Err() == nil; attempt++ {
		if addr, ok := m.fsm.MasterAddress(m.cfg.ID); ok && addr == m.advertise {
			return
		}
		err := m.sendAddress(ctx)
		if err == nil {
			return
		}
		// Failures are expected until a leader is elected, so only
		// repeated ones are worth a warning.
		if attempt%10 == 0 {
			m.logger.Warn("publishing API address failed, retrying", "attempts", attempt, "error", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (m *Master) sendAddress(ctx context.Context) error {
	if m.node.IsLeader() {
		_, err := m.node.Propose(ctx, fsm.SetMasterAddress{ServerID: m.cfg.ID, APIAddress: m.advertise})
		return err
	}
	body, err := json.Marshal(api.MasterAddress{APIAddress: m.advertise})
	if err != nil {
		return err
	}
	return m.forwarder.Send(ctx, http.MethodPut, api.MastersPath+"/"+m.cfg.ID, body)
}

// recordTakeover adds this master's takeover to the failover record,
// retrying until it is committed or leadership is lost.
func (m *Master) recordTakeover(ctx context.Context) {
	cmd := fsm.RecordLeader{ServerID: m.cfg.ID, Term: m.node.Term(), Time: time.Now().UTC()}
	for ctx.Err() == nil {
		_, err := m.node.Propose(ctx, cmd)
		if err == nil {
			return
		}
		m.logger.Warn("recording the takeover failed, retrying", "term", cmd.Term, "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}
