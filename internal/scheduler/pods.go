package scheduler

import (
	"context"
	"errors"
	"fmt"

	"github.com/podling/podling/fsm"
	"github.com/podling/podling/internal/cluster"
	"github.com/podling/podling/internal/types"
)

// placePendingPods places every pending pod it can, oldest first, on a
// node with room for its requests, and records on the others why they
// wait.
//
// It reads as many pending pods as there are free slots plus
// unschedulableBatch, so a long queue costs little per pass while the
// reasons of waiting pods are still brought up to date.
func (s *Scheduler) placePendingPods(ctx context.Context) {
	nodes := s.cfg.State.Nodes()
	free := freeSlots(nodes)
	total := unschedulableBatch
	for _, sl := range free {
		total += sl.free
	}
	pending := s.cfg.State.PendingPods(total)
	for _, pod := range pending {
		requests := pod.Requests()
		node, ok := pickNode(free, requests)
		if !ok {
			s.markUnschedulable(ctx, pod, unschedulableMessage(requests, free, nodes))
			continue
		}
		if err := s.placePod(ctx, pod, node.node); err != nil {
			if errors.Is(err, cluster.ErrNotLeader) || ctx.Err() != nil {
				return
			}
			continue
		}
		node.take(requests)
	}
}

// unschedulableBatch bounds how many waiting pods one pass marks with the
// reason they wait.
const unschedulableBatch = 100

func (s *Scheduler) placePod(ctx context.Context, pod types.Pod, node types.Node) error {
	res, err := s.cfg.Raft.Propose(ctx, fsm.PlacePod{PodID: pod.PodID, NodeID: node.NodeID, Time: s.cfg.Now().UTC()})
	if err != nil {
		s.logger.Warn("placing pod failed", "pod_id", pod.PodID, "node_id", node.NodeID, "error", err)
		return err
	}
	placed, ok := res.Value.(types.Pod)
	if !ok || placed.Status != types.PodScheduled || placed.NodeID != node.NodeID {
		return nil // the pod changed before the placement applied
	}
	s.logger.Info("pod scheduled", "pod_id", pod.PodID, "node_id", node.NodeID, "index", res.Index)
	s.cfg.Dispatcher.DispatchPod(ctx, placed, node, s.cfg.Raft.Term(), res.Index)
	return nil
}

// markUnschedulable records why a pod waits, unless it already carries that reason.
// Writing only changes keeps the scheduler from waking itself forever.
func (s *Scheduler) markUnschedulable(ctx context.Context, pod types.Pod, message string) {
	if pod.Reason == types.ReasonUnschedulable && pod.Message == message {
		return
	}
	cmd := fsm.MarkUnschedulable{PodID: pod.PodID, Message: message, Time: s.cfg.Now().UTC()}
	if _, err := s.cfg.Raft.Propose(ctx, cmd); err != nil {
		s.logger.Warn("recording unschedulable pod failed", "pod_id", pod.PodID, "error", err)
		return
	}
	s.logger.Info("pod unschedulable", "pod_id", pod.PodID, "reason", message)
}

// unschedulableMessage returns why no node takes the pod: no node online,
// every online node cordoned, or no free slot. Otherwise it states the
// pod's requests and the largest free CPU and memory on any node, so a
// user can tell which request is too large.
func unschedulableMessage(requests types.ResourceList, slots []*slot, nodes []types.Node) string {
	online, cordoned := 0, 0
	for _, n := range nodes {
		if n.Status == types.NodeOnline {
			online++
			if n.Unschedulable {
				cordoned++
			}
		}
	}
	var open []*slot
	for _, sl := range slots {
		if sl.free > 0 {
			open = append(open, sl)
		}
	}
	switch {
	case online == 0:
		return "no node is online"
	case cordoned == online:
		return fmt.Sprintf("every online node is cordoned (%d)", cordoned)
	case len(open) == 0:
		return "no schedulable node has a free slot"
	}
	var largest types.ResourceList
	for _, sl := range open {
		largest.CPUMillis = max(largest.CPUMillis, sl.resources.CPUMillis)
		largest.MemoryBytes = max(largest.MemoryBytes, sl.resources.MemoryBytes)
	}
	return fmt.Sprintf("no online node has room for requests of %dm CPU and %d bytes of memory; the largest free CPU on a node is %dm and the largest free memory is %d bytes",
		requests.CPUMillis, requests.MemoryBytes, largest.CPUMillis, largest.MemoryBytes)
}
