package client

import (
	"context"
	"io"
	"net/http"
	"net/url"

	"github.com/podling/podling/internal/types"
)

// create sends a create with a fresh Idempotency-Key, the same on every
// try, and decodes the new object into out.
func (c *Client) create(ctx context.Context, path string, req, out any) (Meta, error) {
	cl, err := jsonCall(http.MethodPost, path, req)
	if err != nil {
		return Meta{}, err
	}
	cl.idempotencyKey = newIdempotencyKey()
	return c.do(ctx, cl, out)
}

// get reads path with the given consistency into out.
func (c *Client) get(ctx context.Context, path string, query url.Values, out any) (Meta, error) {
	return c.do(ctx, call{method: http.MethodGet, path: path, query: query}, out)
}

// readQuery returns the query of a read with options o.
func readQuery(o ReadOptions) url.Values {
	q := url.Values{}
	o.addTo(q)
	return q
}

// logs opens a log stream at path.
func (c *Client) logs(ctx context.Context, path string, o LogOptions) (io.ReadCloser, error) {
	resp, err := c.send(ctx, call{method: http.MethodGet, path: path, query: o.query(), stream: true})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// CreateTask submits a task.
func (c *Client) CreateTask(ctx context.Context, req types.CreateTaskRequest) (types.Task, Meta, error) {
	var task types.Task
	meta, err := c.create(ctx, "/api/v1/tasks", req, &task)
	return task, meta, err
}

// ListTasks lists tasks, oldest first.
func (c *Client) ListTasks(ctx context.Context, o ListOptions) ([]types.Task, Meta, error) {
	tasks := []types.Task{}
	meta, err := c.get(ctx, "/api/v1/tasks", o.query(), &tasks)
	return tasks, meta, err
}

// GetTask reads one task.
func (c *Client) GetTask(ctx context.Context, id string, o ReadOptions) (types.Task, Meta, error) {
	var task types.Task
	meta, err := c.get(ctx, "/api/v1/tasks/"+url.PathEscape(id), readQuery(o), &task)
	return task, meta, err
}

// UpdateTaskStatus reports a task's status, as its worker does. A report
// that repeats the current status changes nothing, so it is safe to retry.
func (c *Client) UpdateTaskStatus(ctx context.Context, id string, update types.TaskStatusUpdate) (types.Task, Meta, error) {
	var task types.Task
	cl, err := jsonCall(http.MethodPut, "/api/v1/tasks/"+url.PathEscape(id)+"/status", update)
	if err != nil {
		return task, Meta{}, err
	}
	meta, err := c.do(ctx, cl, &task)
	return task, meta, err
}

// TaskLogs opens the output of a task's container. The caller closes it.
func (c *Client) TaskLogs(ctx context.Context, id string, o LogOptions) (io.ReadCloser, error) {
	o.Container = ""
	return c.logs(ctx, "/api/v1/tasks/"+url.PathEscape(id)+"/logs", o)
}
