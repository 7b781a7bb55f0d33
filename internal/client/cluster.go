package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/podling/podling/internal/types"
)

// ClusterInfo is the response of GET /api/v1/cluster: the leader, its
// indexes and every member, as the serving master reports them.
type ClusterInfo struct {
	LeaderID     string       `json:"leaderId"`
	Term         uint64       `json:"term"`
	CommitIndex  uint64       `json:"commitIndex"`
	AppliedIndex uint64       `json:"appliedIndex"`
	Members      []MemberInfo `json:"members"`
}

// MemberInfo describes one master, as the serving master reports it.
type MemberInfo struct {
	ID          string `json:"id"`
	RaftAddress string `json:"raftAddress"`
	APIAddress  string `json:"apiAddress,omitempty"`
	Voter       bool   `json:"voter"`
	Leader      bool   `json:"leader"`
	// Healthy is true when the member responded to /health just now.
	// LastContact is the time of that check, and Error the reason it failed.
	Healthy      bool       `json:"healthy"`
	LastContact  *time.Time `json:"lastContact,omitempty"`
	Error        string     `json:"error,omitempty"`
	AppliedIndex uint64     `json:"appliedIndex,omitempty"`
}

// JoinRequest is the request to add a master to the cluster as a voter.
type JoinRequest struct {
	ID          string `json:"id"`
	RaftAddress string `json:"raftAddress"`
	APIAddress  string `json:"apiAddress"`
}

// TransferResult is the response of a leadership transfer.
type TransferResult struct {
	PreviousLeader string `json:"previousLeader"`
	LeaderID       string `json:"leaderId"`
}

// RemoveResult is the response of the removal of a member.
type RemoveResult struct {
	Removed string `json:"removed"`
}

// RestoreResult is the response of a snapshot restore.
type RestoreResult struct {
	Restored bool  `json:"restored"`
	Bytes    int64 `json:"bytes"`
}

// MaxSnapshotBytes is the largest snapshot a master restores.
const MaxSnapshotBytes = 1 << 30

// Cluster reads the cluster's members and the leader's indexes.
func (c *Client) Cluster(ctx context.Context) (ClusterInfo, Meta, error) {
	var info ClusterInfo
	meta, err := c.get(ctx, "/api/v1/cluster", nil, &info)
	return info, meta, err
}

// JoinCluster adds a master as a voter. Asking again is harmless.
func (c *Client) JoinCluster(ctx context.Context, req JoinRequest) (JoinRequest, Meta, error) {
	var result JoinRequest
	cl, err := jsonCall(http.MethodPost, "/api/v1/cluster/join", req)
	if err != nil {
		return result, Meta{}, err
	}
	meta, err := c.do(ctx, cl, &result)
	return result, meta, err
}

// RemoveMember removes a master from the cluster.
func (c *Client) RemoveMember(ctx context.Context, id string) (RemoveResult, Meta, error) {
	var result RemoveResult
	cl := call{method: http.MethodDelete, path: "/api/v1/cluster/members/" + url.PathEscape(id), unsafe: true}
	meta, err := c.do(ctx, cl, &result)
	return result, meta, err
}

// TransferLeadership moves leadership to the member id, or to any
// caught-up follower when id is empty.
func (c *Client) TransferLeadership(ctx context.Context, id string) (TransferResult, Meta, error) {
	var result TransferResult
	var body any
	if id != "" {
		body = struct {
			ID string `json:"id"`
		}{id}
	}
	cl, err := jsonCall(http.MethodPost, "/api/v1/cluster/leadership/transfer", body)
	if err != nil {
		return result, Meta{}, err
	}
	cl.unsafe = true
	meta, err := c.do(ctx, cl, &result)
	return result, meta, err
}

// Failovers reads the record of leader takeovers, oldest first.
func (c *Client) Failovers(ctx context.Context, o ReadOptions) ([]types.LeaderChange, Meta, error) {
	changes := []types.LeaderChange{}
	meta, err := c.get(ctx, "/api/v1/cluster/failovers", readQuery(o), &changes)
	return changes, meta, err
}

// SaveSnapshot opens a backup of the whole state. The caller reads it to
// the end and closes it.
func (c *Client) SaveSnapshot(ctx context.Context) (io.ReadCloser, error) {
	resp, err := c.send(ctx, call{method: http.MethodGet, path: "/api/v1/cluster/snapshot", stream: true})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// RestoreSnapshot makes a backup the state of the whole cluster. The
// backup is read into memory first, so each try sends the same bytes.
func (c *Client) RestoreSnapshot(ctx context.Context, r io.Reader) (RestoreResult, Meta, error) {
	var result RestoreResult
	data, err := io.ReadAll(io.LimitReader(r, MaxSnapshotBytes+1))
	if err != nil {
		return result, Meta{}, fmt.Errorf("read snapshot: %w", err)
	}
	if len(data) > MaxSnapshotBytes {
		return result, Meta{}, fmt.Errorf("snapshot is larger than the %d bytes a master restores", MaxSnapshotBytes)
	}
	body := func() (io.Reader, error) { return bytes.NewReader(data), nil }
	cl := call{method: http.MethodPost, path: "/api/v1/cluster/snapshot/restore", body: body, long: true}
	meta, err := c.do(ctx, cl, &result)
	return result, meta, err
}
