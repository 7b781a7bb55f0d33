package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/podling/podling/internal/types"
)

// CreateService creates a service.
func (c *Client) CreateService(ctx context.Context, req types.CreateServiceRequest) (types.Service, Meta, error) {
	var svc types.Service
	meta, err := c.create(ctx, "/api/v1/services", req, &svc)
	return svc, meta, err
}

// ListServices lists services, oldest first. Status and NodeID in o do
// not apply.
func (c *Client) ListServices(ctx context.Context, o ListOptions) ([]types.Service, Meta, error) {
	o.Status, o.NodeID = "", ""
	services := []types.Service{}
	meta, err := c.get(ctx, "/api/v1/services", o.query(), &services)
	return services, meta, err
}

// GetService reads one service.
func (c *Client) GetService(ctx context.Context, id string, o ReadOptions) (types.Service, Meta, error) {
	var svc types.Service
	meta, err := c.get(ctx, "/api/v1/services/"+url.PathEscape(id), readQuery(o), &svc)
	return svc, meta, err
}

// DeleteService deletes a service and returns it.
func (c *Client) DeleteService(ctx context.Context, id string) (types.Service, Meta, error) {
	var svc types.Service
	meta, err := c.do(ctx, call{method: http.MethodDelete, path: "/api/v1/services/" + url.PathEscape(id), unsafe: true}, &svc)
	return svc, meta, err
}

// ServiceEndpoints reads the current addresses of a service.
func (c *Client) ServiceEndpoints(ctx context.Context, id string, o ReadOptions) (types.Endpoints, Meta, error) {
	var ep types.Endpoints
	meta, err := c.get(ctx, "/api/v1/services/"+url.PathEscape(id)+"/endpoints", readQuery(o), &ep)
	return ep, meta, err
}
