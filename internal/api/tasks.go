package api

import (
	"fmt"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/podling/podling/fsm"
	"github.com/podling/podling/internal/ids"
	"github.com/podling/podling/internal/types"
)

func (s *Server) createTask(r *http.Request, body []byte) (reply, error) {
	var req types.CreateTaskRequest
	if err := decodeStrict(body, &req); err != nil {
		return reply{}, err
	}
	if err := validateTaskRequest(req); err != nil {
		return reply{}, err
	}
	now := s.now().UTC()
	task := types.Task{
		Name: req.Name, Namespace: orDefault(req.Namespace, types.DefaultNamespace),
		Labels: req.Labels, Image: req.Image, Env: req.Env, CreatedAt: now,
	}
	idem, err := idempotencyFrom(r, body, now)
	if err != nil {
		return reply{}, err
	}
	res, err := s.proposeCreate(r.Context(), now, func(id string) fsm.Command {
		task.TaskID = id
		return fsm.CreateTask{Task: task, Idempotency: idem}
	})
	if err != nil {
		return reply{}, err
	}
	return createdReply(res), nil
}

func (s *Server) updateTaskStatus(r *http.Request, body []byte) (reply, error) {
	id, err := taskIDFrom(r)
	if err != nil {
		return reply{}, err
	}
	var update types.TaskStatusUpdate
	if err := decodeStrict(body, &update); err != nil {
		return reply{}, err
	}
	if err := validateStatusUpdate(update); err != nil {
		return reply{}, err
	}
	cmd := fsm.UpdateTaskStatus{TaskID: id, Update: update, Time: s.now().UTC()}
	res, err := s.raft.Propose(r.Context(), cmd)
	if err != nil {
		return reply{}, err
	}
	return reply{status: http.StatusOK, body: res.Value, index: res.Index}, nil
}

func (s *Server) getTask(r *http.Request) (reply, error) {
	task, err := s.taskFrom(r)
	if err != nil {
		return reply{}, err
	}
	return reply{status: http.StatusOK, body: task}, nil
}

func (s *Server) taskFrom(r *http.Request) (types.Task, error) {
	id, err := taskIDFrom(r)
	if err != nil {
		return types.Task{}, err
	}
	task, ok := s.state.Task(id)
	if !ok {
		return types.Task{}, fmt.Errorf("task %s: %w", id, fsm.ErrNotFound)
	}
	return task, nil
}

func (s *Server) listTasks(r *http.Request) (reply, error) {
	filter, err := taskFilterFrom(r)
	if err != nil {
		return reply{}, err
	}
	return reply{status: http.StatusOK, body: s.state.Tasks(filter)}, nil
}

func taskFilterFrom(r *http.Request) (fsm.TaskFilter, error) {
	q := r.URL.Query()
	namespace, labels, err := listFilter(r)
	if err != nil {
		return fsm.TaskFilter{}, err
	}
	filter := fsm.TaskFilter{Status: types.TaskStatus(q.Get("status")), NodeID: q.Get("nodeId"), Namespace: namespace, Labels: labels}
	if filter.Status != "" && !filter.Status.Valid() {
		return filter, invalid("status", "%q is not a task status", truncate(string(filter.Status)))
	}
	if filter.NodeID != "" && !ids.ValidNode(filter.NodeID) {
		return filter, invalid("nodeId", "%q is not a valid node ID", truncate(filter.NodeID))
	}
	return filter, nil
}

func taskIDFrom(r *http.Request) (string, error) {
	id := mux.Vars(r)["taskId"]
	if !ids.ValidObject(id) {
		return "", invalid("taskId", "%q is not a valid task ID, expected the form 20250119123456-abc12345", truncate(id))
	}
	return id, nil
}
