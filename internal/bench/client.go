package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Client sends API requests over kept-alive connections.
type Client struct {
	http *http.Client
}

// NewClient returns a client that keeps up to idlePerHost idle connections
// to each master, so that many concurrent clients never reconnect.
func NewClient(idlePerHost int) *Client {
	transport := &http.Transport{
		Proxy:               nil, // every target is on loopback
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: idlePerHost,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &Client{http: &http.Client{Transport: transport, Timeout: 60 * time.Second}}
}

// StatusError is a response whose status is outside 2xx.
type StatusError struct {
	Method, URL string
	Code        int
	Body        string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s: status %d: %s", e.Method, e.URL, e.Code, e.Body)
}

// Do sends a request and returns the body of a 2xx response. Any other
// status is returned as a *StatusError.
func (c *Client) Do(ctx context.Context, method, url string, body []byte) ([]byte, error) {
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, reader)
	if err != nil {
		return nil, fmt.Errorf("build %s %s: %w", method, url, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read response of %s %s: %w", method, url, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &StatusError{Method: method, URL: url, Code: resp.StatusCode, Body: truncateText(string(data), 200)}
	}
	return data, nil
}

// JSON sends a request and decodes a 2xx response into out, unless out is
// nil.
func (c *Client) JSON(ctx context.Context, method, url string, body []byte, out any) error {
	data, err := c.Do(ctx, method, url, body)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode response of %s %s: %w", method, url, err)
	}
	return nil
}

func truncateText(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "..."
}
