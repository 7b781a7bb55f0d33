// Package workerclient is the masters' client for the worker API: dispatch
// of tasks and pods, pod removal, and log streams.
package workerclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/podling/podling/internal/types"
)

// ErrRejected: the worker understood the request and rejected it, so
// sending it again cannot help. The message carries the worker's reason.
var ErrRejected = errors.New("rejected by the worker")

// ErrUnreachable: the worker could not be reached or failed.
var ErrUnreachable = errors.New("worker unreachable")

// Client calls worker APIs. It is safe for concurrent use.
type Client struct {
	http *http.Client
	// authorization, when set, gives the Authorization header of every call.
	authorization func() (string, error)
}

// New returns a client that makes its calls with hc.
func New(hc *http.Client) *Client { return &Client{http: hc} }

// SetAuthorization makes every call present the header that fn returns.
// Call it before the client is used.
func (c *Client) SetAuthorization(fn func() (string, error)) { c.authorization = fn }

// do sends req with the client's Authorization header.
func (c *Client) do(req *http.Request) (*http.Response, error) {
	if c.authorization != nil {
		value, err := c.authorization()
		if err != nil {
			return nil, fmt.Errorf("mint token for the worker: %w", err)
		}
		req.Header.Set("Authorization", value)
	}
	return c.http.Do(req)
}

// BaseURL returns the base URL of a node's worker API.
func BaseURL(node types.Node) string {
	return "http://" + net.JoinHostPort(node.Hostname, strconv.Itoa(node.Port))
}

// ExecuteTask sends a task to the node's worker.
func (c *Client) ExecuteTask(ctx context.Context, node types.Node, req types.ExecuteRequest) error {
	return c.call(ctx, http.MethodPost, BaseURL(node)+"/api/v1/tasks/"+req.Task.TaskID+"/execute", req)
}

// ExecutePod sends a pod to the node's worker.
func (c *Client) ExecutePod(ctx context.Context, node types.Node, req types.PodExecuteRequest) error {
	return c.call(ctx, http.MethodPost, BaseURL(node)+"/api/v1/pods/"+req.Pod.PodID+"/execute", req)
}

// DeletePod makes the node's worker stop and remove every container of the
// pod. Deleting a pod the worker does not run succeeds.
func (c *Client) DeletePod(ctx context.Context, node types.Node, podID string) error {
	return c.call(ctx, http.MethodDelete, BaseURL(node)+"/api/v1/pods/"+podID, nil)
}

// Logs opens a log stream from the node's worker. path is the worker path,
// such as /api/v1/tasks/ID/logs. The caller closes the response body. A
// worker's 4xx answer is returned as a response, not an error, so the
// caller can relay it.
func (c *Client) Logs(ctx context.Context, node types.Node, path string, query url.Values) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, BaseURL(node)+path+"?"+query.Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("build logs request: %w", err)
	}
	resp, err := c.do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: node %s: %w", ErrUnreachable, node.NodeID, err)
	}
	if resp.StatusCode >= 500 {
		defer resp.Body.Close()
		return nil, fmt.Errorf("%w: node %s responded %d: %s", ErrUnreachable, node.NodeID, resp.StatusCode, readText(resp.Body))
	}
	return resp, nil
}

// HasTask reports whether the node's worker has a container for the task.
func (c *Client) HasTask(ctx context.Context, node types.Node, taskID string) (bool, error) {
	return c.exists(ctx, BaseURL(node)+"/api/v1/tasks/"+taskID+"/status")
}

// HasPod reports whether the node's worker runs the pod.
func (c *Client) HasPod(ctx context.Context, node types.Node, podID string) (bool, error) {
	return c.exists(ctx, BaseURL(node)+"/api/v1/pods/"+podID+"/status")
}

// exists makes a GET and tells 200 from 404; any other outcome is an error.
func (c *Client) exists(ctx context.Context, target string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return false, fmt.Errorf("build request: %w", err)
	}
	resp, err := c.do(req)
	if err != nil {
		return false, fmt.Errorf("%w: GET %s: %w", ErrUnreachable, target, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, fmt.Errorf("%w: GET %s responded %d: %s", ErrUnreachable, target, resp.StatusCode, readText(resp.Body))
}

func (c *Client) call(ctx context.Context, method, target string, body any) error {
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		reader = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, reader)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.do(req)
	if err != nil {
		return fmt.Errorf("%w: %s %s: %w", ErrUnreachable, method, target, err)
	}
	defer resp.Body.Close()
	text := readText(resp.Body)
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		return fmt.Errorf("%w: %s %s responded %d: %s", ErrRejected, method, target, resp.StatusCode, text)
	}
	return fmt.Errorf("%w: %s %s responded %d: %s", ErrUnreachable, method, target, resp.StatusCode, text)
}

func readText(r io.Reader) string {
	data, _ := io.ReadAll(io.LimitReader(r, 4096))
	return strings.TrimSpace(string(data))
}
