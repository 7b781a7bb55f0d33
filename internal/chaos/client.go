package chaos

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The labels that tie a task to a workload run and to the create that made it.
const (
	labelRun = "chaos-run"
	labelKey = "chaos-key"
)

// taskView is the part of a task the checks look at.
type taskView struct {
	TaskID string            `json:"taskId"`
	Status string            `json:"status"`
	Labels map[string]string `json:"labels"`
}

func (t taskView) terminal() bool { return t.Status == "completed" || t.Status == "failed" }

// listing is one response to a task list request.
type listing struct {
	tasks []taskView
	// index is the X-Podling-Index the master served the read at.
	index uint64
	// hash is the SHA-256 of the tasks sorted by ID, as canonical JSON.
	hash string
}

// keys returns the task ID of each create key in the listing, and the keys
// found on more than one task.
func (l listing) keys() (map[string]string, []string) {
	ids := make(map[string]string)
	var twice []string
	for _, t := range l.tasks {
		key := t.Labels[labelKey]
		if key == "" {
			continue
		}
		if _, seen := ids[key]; seen {
			twice = append(twice, key)
		}
		ids[key] = t.TaskID
	}
	return ids, twice
}

// statusError is an HTTP response with an unexpected status code.
type statusError struct {
	code int
	body string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("HTTP %d: %s", e.code, e.body)
}

// rejected reports whether the response rejects the request as invalid,
// which no fault should cause. 408 and 429 are not rejections.
func (e *statusError) rejected() bool {
	return e.code >= 400 && e.code < 500 && e.code != http.StatusRequestTimeout && e.code != http.StatusTooManyRequests
}

// failureKind classifies a failed request for the run's summary: the
// status and error code of a response, a timeout, or another error.
func failureKind(err error) string {
	var se *statusError
	if errors.As(err, &se) {
		var body struct {
			Code string `json:"code"`
		}
		_ = json.Unmarshal([]byte(se.body), &body)
		return strings.TrimSpace(fmt.Sprintf("HTTP %d %s", se.code, body.Code))
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return "connection error"
}

// api calls the master API with a bounded time per request.
type api struct {
	http *http.Client
}

func newAPI(timeout time.Duration) *api {
	return &api{http: &http.Client{Timeout: timeout}}
}

// createTask sends one create with an idempotency key and returns the ID of
// the task in the response.
func (a *api) createTask(ctx context.Context, base, key string, body []byte) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/tasks", bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("build create: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	data, _, err := a.do(req, http.StatusCreated, http.StatusOK)
	if err != nil {
		return "", err
	}
	var task taskView
	if err := json.Unmarshal(data, &task); err != nil {
		return "", fmt.Errorf("decode created task: %w", err)
	}
	if task.TaskID == "" {
		return "", fmt.Errorf("created task has no taskId: %s", truncate(data))
	}
	return task.TaskID, nil
}

// listTasks reads a task list from base with the given query string.
func (a *api) listTasks(ctx context.Context, base, query string) (listing, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/tasks?"+query, nil)
	if err != nil {
		return listing{}, fmt.Errorf("build list: %w", err)
	}
	data, header, err := a.do(req, http.StatusOK)
	if err != nil {
		return listing{}, err
	}
	return parseListing(data, header)
}

// ready returns nil when GET /ready on base returns 200.
func (a *api) ready(ctx context.Context, base string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/ready", nil)
	if err != nil {
		return fmt.Errorf("build ready: %w", err)
	}
	_, _, err = a.do(req, http.StatusOK)
	return err
}

// do sends req and returns the body of a response with one of the expected
// status codes, or an error.
func (a *api) do(req *http.Request, want ...int) ([]byte, http.Header, error) {
	resp, err := a.http.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("read %s %s: %w", req.Method, req.URL.Path, err)
	}
	for _, code := range want {
		if resp.StatusCode == code {
			return data, resp.Header, nil
		}
	}
	return nil, nil, &statusError{code: resp.StatusCode, body: truncate(data)}
}

func parseListing(data []byte, header http.Header) (listing, error) {
	var l listing
	if err := json.Unmarshal(data, &l.tasks); err != nil {
		return l, fmt.Errorf("decode task list: %w", err)
	}
	hash, err := stateHash(data)
	if err != nil {
		return l, err
	}
	l.hash = hash
	if raw := header.Get("X-Podling-Index"); raw != "" {
		if l.index, err = strconv.ParseUint(raw, 10, 64); err != nil {
			return l, fmt.Errorf("parse X-Podling-Index %q: %w", raw, err)
		}
	}
	return l, nil
}

// stateHash returns the SHA-256 of a task list in a canonical form: tasks
// sorted by ID, each object with its keys in order.
func stateHash(data []byte) (string, error) {
	var tasks []map[string]any
	if err := json.Unmarshal(data, &tasks); err != nil {
		return "", fmt.Errorf("decode task list for hashing: %w", err)
	}
	sort.Slice(tasks, func(i, j int) bool {
		return fmt.Sprint(tasks[i]["taskId"]) < fmt.Sprint(tasks[j]["taskId"])
	})
	canonical, err := json.Marshal(tasks)
	if err != nil {
		return "", fmt.Errorf("encode task list for hashing: %w", err)
	}
	sum := sha256.Sum256(canonical)
	return hex.EncodeToString(sum[:]), nil
}

func truncate(data []byte) string {
	const limit = 200
	if len(data) > limit {
		return string(bytes.TrimSpace(data[:limit])) + "..."
	}
	return string(bytes.TrimSpace(data))
}
