package client

import (
	"context"
	"io"
	"net/http"
	"net/url"

	"github.com/podling/podling/internal/types"
)

// CreatePod submits a pod.
func (c *Client) CreatePod(ctx context.Context, req types.CreatePodRequest) (types.Pod, Meta, error) {
	var pod types.Pod
	meta, err := c.create(ctx, "/api/v1/pods", req, &pod)
	return pod, meta, err
}

// ListPods lists pods, oldest first.
func (c *Client) ListPods(ctx context.Context, o ListOptions) ([]types.Pod, Meta, error) {
	pods := []types.Pod{}
	meta, err := c.get(ctx, "/api/v1/pods", o.query(), &pods)
	return pods, meta, err
}

// GetPod reads one pod.
func (c *Client) GetPod(ctx context.Context, id string, o ReadOptions) (types.Pod, Meta, error) {
	var pod types.Pod
	meta, err := c.get(ctx, "/api/v1/pods/"+url.PathEscape(id), readQuery(o), &pod)
	return pod, meta, err
}

// DeletePod deletes a pod once its worker has removed its containers, and
// returns it. It is not sent again once a try may have reached a master,
// because a second try would fail with not_found.
func (c *Client) DeletePod(ctx context.Context, id string) (types.Pod, Meta, error) {
	var pod types.Pod
	meta, err := c.do(ctx, call{method: http.MethodDelete, path: "/api/v1/pods/" + url.PathEscape(id), unsafe: true}, &pod)
	return pod, meta, err
}

// UpdatePodStatus reports a pod's status, as its worker does.
func (c *Client) UpdatePodStatus(ctx context.Context, id string, report types.PodStatusReport) (types.Pod, Meta, error) {
	var pod types.Pod
	cl, err := jsonCall(http.MethodPut, "/api/v1/pods/"+url.PathEscape(id)+"/status", report)
	if err != nil {
		return pod, Meta{}, err
	}
	meta, err := c.do(ctx, cl, &pod)
	return pod, meta, err
}

// PodLogs opens the output of one container of a pod. The caller closes
// it.
func (c *Client) PodLogs(ctx context.Context, id string, o LogOptions) (io.ReadCloser, error) {
	return c.logs(ctx, "/api/v1/pods/"+url.PathEscape(id)+"/logs", o)
}
