package api

import (
	"context"

	"github.com/podling/podling/fsm"
	"github.com/podling/podling/internal/types"
)

// adopt takes over the work a registering worker announces. Work the
// cluster placed on this node gets the state the worker reports, such as
// the real exit code of a container that ended while the worker was down.
// Everything else is returned as orphans for the worker to remove.
func (s *Server) adopt(ctx context.Context, nodeID string, req types.RegisterNodeRequest) (types.Orphans, error) {
	orphans := types.Orphans{Tasks: []string{}, Pods: []string{}}
	for _, announced := range req.Tasks {
		task, ok := s.state.Task(announced.TaskID)
		if !ok || task.NodeID != nodeID {
			orphans.Tasks = append(orphans.Tasks, announced.TaskID)
			continue
		}
		if err := s.adoptTask(ctx, nodeID, task, announced); err != nil {
			return orphans, err
		}
	}
	for _, announced := range req.Pods {
		pod, ok := s.state.Pod(announced.PodID)
		if !ok || pod.NodeID != nodeID {
			orphans.Pods = append(orphans.Pods, announced.PodID)
			continue
		}
		report := announced.Report
		report.NodeID = nodeID
		if _, err := s.raft.Propose(ctx, fsm.UpdatePodStatus{PodID: pod.PodID, Report: report, Time: s.now().UTC()}); err != nil && !isRejection(err) {
			return orphans, err
		}
	}
	return orphans, nil
}

// adoptTask records an announced task's state. A container that ended
// before its running report reached the cluster is recorded as running
// first, since the lifecycle does not skip that step.
func (s *Server) adoptTask(ctx context.Context, nodeID string, task types.Task, announced types.AnnouncedTask) error {
	steps := []types.TaskStatusUpdate{}
	if task.Status == types.TaskScheduled && announced.Status.Terminal() {
		steps = append(steps, types.TaskStatusUpdate{Status: types.TaskRunning, ContainerID: announced.ContainerID, NodeID: nodeID})
	}
	final := types.TaskStatusUpdate{Status: announced.Status, ContainerID: announced.ContainerID, ExitCode: announced.ExitCode, NodeID: nodeID}
	if announced.Status == types.TaskFailed {
		final.Reason, final.Message = types.ReasonNonZeroExit, "the container ended while its worker was away"
	}
	steps = append(steps, final)
	for _, update := range steps {
		_, err := s.raft.Propose(ctx, fsm.UpdateTaskStatus{TaskID: task.TaskID, Update: update, Time: s.now().UTC()})
		if err != nil && !isRejection(err) {
			return err
		}
	}
	return nil
}

// isRejection reports whether the state machine refused a command because
// of the state it found, which for an announcement means the cluster
// already knows better, as opposed to a failure to replicate.
func isRejection(err error) bool {
	status, _ := statusOf(err)
	return status == 404 || status == 409
}
