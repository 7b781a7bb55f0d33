package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// call describes one API call.
type call struct {
	method string
	path   string
	query  url.Values
	// body returns the request body for one try; nil means none.
	body func() (io.Reader, error)
	// idempotencyKey is sent as Idempotency-Key on every try of the call.
	idempotencyKey string
	// unsafe calls are not sent again once a try may have reached a
	// master: after a broken connection or an outcome_unknown response.
	unsafe bool
	// stream calls hand the body to the caller as it arrives, so the
	// call's timeouts stop at the headers.
	stream bool
	// long calls, such as a restore, are bounded by the call's timeout
	// alone, not by the timeout of one try.
	long bool
}

// jsonCall returns a call whose body is v as JSON.
func jsonCall(method, path string, v any) (call, error) {
	c := call{method: method, path: path}
	if v == nil {
		return c, nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return c, fmt.Errorf("encode request: %w", err)
	}
	c.body = func() (io.Reader, error) { return bytes.NewReader(data), nil }
	return c, nil
}

// roundResult gathers the outcome of one round of tries.
type roundResult struct {
	unavailable *APIError // the last 503 response, if any
	failures    []error   // the connection failures of the other masters
}

// send runs cl against the masters until one responds with anything but
// a 503, or the call times out. A 2xx or 3xx response is returned for
// the caller to read and close. Any other response becomes an *APIError.
func (c *Client) send(ctx context.Context, cl call) (*http.Response, error) {
	callCtx, cancel := context.WithCancel(ctx)
	deadline, timer := c.callDeadline(callCtx, cancel)
	resp, err := c.retry(ctx, callCtx, deadline, cl)
	if err != nil {
		stop(timer)
		cancel()
		return nil, err
	}
	if cl.stream && !stop(timer) {
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("%s %s: %w", cl.method, cl.path, context.DeadlineExceeded)
	}
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: func() { stop(timer); cancel() }}
	return resp, nil
}

// callDeadline returns when the call's time is up and a timer that
// cancels it then; the timer is nil when the call has no limit.
func (c *Client) callDeadline(ctx context.Context, cancel context.CancelFunc) (time.Time, *time.Timer) {
	deadline, ok := ctx.Deadline()
	if c.timeout > 0 {
		if own := time.Now().Add(c.timeout); !ok || own.Before(deadline) {
			deadline, ok = own, true
		}
	}
	if !ok {
		return time.Time{}, nil
	}
	return deadline, time.AfterFunc(time.Until(deadline), cancel)
}

// stop stops timer and reports whether it had not fired yet.
func stop(timer *time.Timer) bool { return timer == nil || timer.Stop() }

// retry makes rounds of tries, each master once per round starting with
// the one that responded last, and waits between rounds. parent is the
// caller's context, and ctx also ends at the call's deadline.
func (c *Client) retry(parent, ctx context.Context, deadline time.Time, cl call) (*http.Response, error) {
	for round := 0; ; round++ {
		resp, result, err := c.round(ctx, cl)
		if resp != nil || err != nil {
			return resp, err
		}
		wait := c.wait(round, result.unavailable)
		if ctx.Err() != nil || (!deadline.IsZero() && time.Now().Add(wait).After(deadline)) {
			return nil, result.final(parent)
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, result.final(parent)
		}
	}
}

// final returns the error of a call that ends after this round: the
// caller's cancellation, or else the last 503 response, or else the
// failure to reach any master.
func (r roundResult) final(parent context.Context) error {
	if errors.Is(parent.Err(), context.Canceled) {
		return parent.Err()
	}
	if r.unavailable != nil {
		return r.unavailable
	}
	return &UnreachableError{Failures: r.failures}
}

// round tries each master once. It returns the response to hand to the
// caller, or an error that ends the call, or neither when every master
// failed in a way that another round may fix.
func (c *Client) round(ctx context.Context, cl call) (*http.Response, roundResult, error) {
	var result roundResult
	first := int(c.preferred.Load())
	for i := range c.masters {
		index := (first + i) % len(c.masters)
		master := c.masters[index]
		req, err := c.request(ctx, master, cl)
		if err != nil {
			return nil, result, err
		}
		resp, wrote, err := c.attempt(req, cl)
		if err != nil {
			if ctx.Err() != nil {
				// The call ended during this try: report the timeout, not
				// the cancellation that carried it out.
				result.failures = append(result.failures, fmt.Errorf("%s: no response before the call timed out", master))
				return nil, result, nil
			}
			if wrote && cl.unsafe {
				return nil, result, fmt.Errorf("%s %s at %s: %w: %w", cl.method, cl.path, master, ErrOutcomeUnknown, err)
			}
			result.failures = append(result.failures, fmt.Errorf("%s: %w", master, err))
			continue
		}
		if resp.StatusCode < 400 {
			c.preferred.Store(int64(index))
			return resp, result, nil
		}
		apiErr := readAPIError(resp, master)
		if resp.StatusCode != http.StatusServiceUnavailable || (cl.unsafe && apiErr.Code == "outcome_unknown") {
			return nil, result, apiErr
		}
		result.unavailable = apiErr
	}
	return nil, result, nil
}

// wait is the pause after a failed round: exponential backoff with
// jitter, but at least the Retry-After a master asked for.
func (c *Client) wait(round int, unavailable *APIError) time.Duration {
	backoff := backoffMax
	if round < 8 {
		backoff = min(backoffBase<<round, backoffMax)
	}
	wait := c.jitter(backoff)
	if unavailable != nil {
		wait = max(wait, min(unavailable.RetryAfter, maxRetryAfter))
	}
	return wait
}

// attempt sends one try of cl. wrote reports whether the request may
// have reached the master.
func (c *Client) attempt(req *http.Request, cl call) (resp *http.Response, wrote bool, err error) {
	var sent atomic.Bool
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		WroteHeaders: func() { sent.Store(true) },
	}))
	attemptCtx, cancel := context.WithCancel(req.Context())
	var timer *time.Timer
	var timedOut atomic.Bool
	if !cl.long {
		timer = time.AfterFunc(c.attemptTimeout, func() { timedOut.Store(true); cancel() })
	}
	resp, err = c.http.Do(req.WithContext(attemptCtx))
	if err != nil {
		stop(timer)
		cancel()
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err // the master's URL is named by the caller
		}
		if timedOut.Load() {
			err = fmt.Errorf("timed out after %s without a response", c.attemptTimeout)
		}
		return nil, sent.Load(), err
	}
	if cl.stream && !stop(timer) {
		resp.Body.Close()
		cancel()
		return nil, true, fmt.Errorf("timed out after %s without a response", c.attemptTimeout)
	}
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: func() { stop(timer); cancel() }}
	return resp, true, nil
}

// request builds one try of cl to master.
func (c *Client) request(ctx context.Context, master string, cl call) (*http.Request, error) {
	target := master + cl.path
	if len(cl.query) > 0 {
		target += "?" + cl.query.Encode()
	}
	var body io.Reader
	if cl.body != nil {
		var err error
		if body, err = cl.body(); err != nil {
			return nil, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, target, body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "podling-client")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if cl.idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", cl.idempotencyKey)
	}
	return req, nil
}

// releasingBody runs release once when the body is closed, which ends
// the timers and contexts of the call that produced it.
type releasingBody struct {
	io.ReadCloser
	release func()
	once    sync.Once
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}

// do sends cl and decodes the JSON response into out, which may be nil.
func (c *Client) do(ctx context.Context, cl call, out any) (Meta, error) {
	resp, err := c.send(ctx, cl)
	if err != nil {
		return Meta{}, err
	}
	defer resp.Body.Close()
	meta := metaFrom(resp)
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return meta, nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return meta, fmt.Errorf("decode the response to %s %s: %w", cl.method, cl.path, err)
	}
	return meta, nil
}
