package master

import (
	"context"
	"time"

	"github.com/podling/podling/fsm"
)

// watchLeadership starts the leader-only loops when this master becomes
// leader and stops all of them, in one place, when it stops being leader.
func (m *Master) watchLeadership() {
	stopLoops := func() {}
	defer func() { stopLoops() }()
	for {
		select {
		case <-m.stop:
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
// publish this master's API address, then watch node liveness and start
// scheduling.
// It returns the function that stops them.
func (m *Master) startLeaderLoops() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	m.logger.Info("starting leader loops", "term", m.node.Term())
	for _, loop := range []func(context.Context){m.publishAddress, m.tracker.Run, m.scheduler.Run} {
		m.loops.Add(1)
		go func() {
			defer m.loops.Done()
			loop(ctx)
		}()
	}
	return cancel
}

// publishAddress records this master's API URL in the replicated state, so
// followers can forward to it, retrying until it is committed or
// leadership is lost.
func (m *Master) publishAddress(ctx context.Context) {
	for ctx.Err() == nil {
		if addr, ok := m.fsm.MasterAddress(m.cfg.ID); ok && addr == m.advertise {
			return
		}
		_, err := m.node.Propose(ctx, fsm.SetMasterAddress{ServerID: m.cfg.ID, APIAddress: m.advertise})
		if err == nil {
			return
		}
		m.logger.Warn("publishing API address failed, retrying", "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}
