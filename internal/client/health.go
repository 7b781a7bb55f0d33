package client

import (
	"context"
	"net/http"
)

// Health is a master's response to GET /health, about that master alone.
type Health struct {
	Status       string `json:"status"`
	AuthEnabled  bool   `json:"authEnabled"`
	ID           string `json:"id"`
	RaftState    string `json:"raftState"`
	LeaderID     string `json:"leaderId"`
	Term         uint64 `json:"term"`
	CommitIndex  uint64 `json:"commitIndex"`
	AppliedIndex uint64 `json:"appliedIndex"`
}

// Readiness is a master's response to GET /ready when it can serve.
type Readiness struct {
	Ready        bool   `json:"ready"`
	ID           string `json:"id"`
	LeaderID     string `json:"leaderId"`
	AppliedIndex uint64 `json:"appliedIndex"`
}

// Health returns the health of the first master that responds.
func (c *Client) Health(ctx context.Context) (Health, error) {
	var h Health
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/health"}, &h)
	return h, err
}

// Ready returns the readiness of the first master that is ready. A
// master that is not ready responds 503 not_ready, so the next is tried.
func (c *Client) Ready(ctx context.Context) (Readiness, error) {
	var r Readiness
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/ready"}, &r)
	return r, err
}
