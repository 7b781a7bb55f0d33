package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// requestTimeout bounds one API request of a load run.
const requestTimeout = 10 * time.Second

// maxSampledIDs bounds the task IDs kept from the write runs for the reads.
const maxSampledIDs = 20_000

// idSample keeps task IDs seen in create responses, up to maxSampledIDs.
type idSample struct {
	mu  sync.Mutex
	ids []string
}

func (s *idSample) add(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.ids) < maxSampledIDs {
		s.ids = append(s.ids, id)
	}
}

func (s *idSample) full() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.ids) >= maxSampledIDs
}

func (s *idSample) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ids...)
}

func taskBody(prefix string, worker, seq int) []byte {
	return fmt.Appendf(nil, `{"name":"%s-%d-%d","image":"podling/echo:dev","labels":{"bench":"%s"}}`, prefix, worker, seq, prefix)
}

// createTask creates one task through target and returns its ID.
func createTask(ctx context.Context, client *Client, target *Master, body []byte) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	data, err := client.Do(ctx, http.MethodPost, target.URL()+"/api/v1/tasks", body)
	if err != nil {
		return "", err
	}
	var created struct {
		TaskID string `json:"taskId"`
	}
	if err := json.Unmarshal(data, &created); err != nil {
		return "", fmt.Errorf("decode created task: %w", err)
	}
	return created.TaskID, nil
}

// MeasureCreates runs clients closed-loop clients that create tasks
// through target for window, keeping a sample of the new IDs in ids.
func MeasureCreates(ctx context.Context, client *Client, target *Master, clients int, window time.Duration, ids *idSample) Summary {
	return RunClosedLoop(ctx, clients, window, func(ctx context.Context, worker, seq int) error {
		id, err := createTask(ctx, client, target, taskBody("w", worker, seq))
		if err == nil && ids != nil && !ids.full() {
			ids.add(id)
		}
		return err
	})
}

// MeasureReads runs clients closed-loop clients that GET tasks by ID,
// spread over every master; stale adds ?stale=true.
func MeasureReads(ctx context.Context, client *Client, masters []*Master, ids []string, clients int, window time.Duration, stale bool) (Summary, error) {
	if len(ids) == 0 {
		return Summary{}, fmt.Errorf("no task IDs to read")
	}
	query := ""
	if stale {
		query = "?stale=true"
	}
	return RunClosedLoop(ctx, clients, window, func(ctx context.Context, worker, seq int) error {
		ctx, cancel := context.WithTimeout(ctx, requestTimeout)
		defer cancel()
		target := masters[worker%len(masters)]
		id := ids[(worker*7919+seq)%len(ids)]
		_, err := client.Do(ctx, http.MethodGet, target.URL()+"/api/v1/tasks/"+id+query, nil)
		return err
	}), nil
}
