package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/podling/podling/internal/types"
)

// ClusterInfo is the shared API type.
type ClusterInfo = types.ClusterInfo

// MemberInfo is the shared API type.
type MemberInfo = types.MemberInfo

// JoinRequest is the shared API type.
type JoinRequest = types.JoinRequest

// TransferResult is the shared API type.
type TransferResult = types.TransferResult

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
