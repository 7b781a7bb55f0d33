package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/podling/podling/internal/types"
)

// DrainResult is the body of a drain response, defined in internal/types.
type DrainResult = types.DrainResult

// ListNodes lists every node, ordered by ID.
func (c *Client) ListNodes(ctx context.Context, o ReadOptions) ([]types.Node, Meta, error) {
	nodes := []types.Node{}
	meta, err := c.get(ctx, "/api/v1/nodes", readQuery(o), &nodes)
	return nodes, meta, err
}

// GetNode finds one node in the node list, since the API has no call for
// a single node. An unknown ID is an APIError with status 404 and code
// not_found, as for other objects.
func (c *Client) GetNode(ctx context.Context, id string, o ReadOptions) (types.Node, Meta, error) {
	nodes, meta, err := c.ListNodes(ctx, o)
	if err != nil {
		return types.Node{}, meta, err
	}
	for _, n := range nodes {
		if n.NodeID == id {
			return n, meta, nil
		}
	}
	return types.Node{}, meta, &APIError{
		Status: http.StatusNotFound, Code: "not_found", Message: fmt.Sprintf("node %s: not found", id), Master: meta.ServedBy,
	}
}

// RegisterNode registers a worker's node, as a worker does when it
// starts. Registering again with the same ID is idempotent.
func (c *Client) RegisterNode(ctx context.Context, req types.RegisterNodeRequest) (types.RegisterNodeResponse, Meta, error) {
	var result types.RegisterNodeResponse
	cl, err := jsonCall(http.MethodPost, "/api/v1/nodes/register", req)
	if err != nil {
		return result, Meta{}, err
	}
	meta, err := c.do(ctx, cl, &result)
	return result, meta, err
}

// Heartbeat reports to the masters that a node's worker is alive.
func (c *Client) Heartbeat(ctx context.Context, id string) (types.Node, Meta, error) {
	return c.nodeAction(ctx, id, "heartbeat")
}

// DrainNode cordons a node and moves its restartable pods elsewhere.
// Draining again resumes a drain that stopped halfway, so it is safe to
// retry.
func (c *Client) DrainNode(ctx context.Context, id string) (DrainResult, Meta, error) {
	var result DrainResult
	meta, err := c.do(ctx, call{method: http.MethodPost, path: nodePath(id, "drain")}, &result)
	return result, meta, err
}

// UncordonNode makes a node schedulable again.
func (c *Client) UncordonNode(ctx context.Context, id string) (types.Node, Meta, error) {
	return c.nodeAction(ctx, id, "uncordon")
}

// LeaveNode cordons a node whose worker shuts down, as that worker does.
func (c *Client) LeaveNode(ctx context.Context, id string) (types.Node, Meta, error) {
	return c.nodeAction(ctx, id, "leave")
}

func (c *Client) nodeAction(ctx context.Context, id, action string) (types.Node, Meta, error) {
	var node types.Node
	meta, err := c.do(ctx, call{method: http.MethodPost, path: nodePath(id, action)}, &node)
	return node, meta, err
}

func nodePath(id, action string) string {
	return "/api/v1/nodes/" + url.PathEscape(id) + "/" + action
}
