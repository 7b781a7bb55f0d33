package master

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/podling/podling/internal/api"
)

// join requests the cluster at the Join URL to add this master, retrying until
// it succeeds or ctx ends. Retrying covers a cluster in the middle of an
// election, which responds 503 until it has a leader again.
func (m *Master) join(ctx context.Context) {
	req := api.JoinRequest{ID: m.cfg.ID, RaftAddress: m.node.RaftAddress(), APIAddress: m.advertise}
	for attempt := 1; ctx.Err() == nil; attempt++ {
		err := m.sendJoin(ctx, req)
		if err == nil {
			m.logger.Info("joined the cluster", "via", m.cfg.Join)
			return
		}
		if attempt%10 == 1 {
			m.logger.Warn("joining the cluster failed, retrying", "via", m.cfg.Join, "attempts", attempt, "error", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (m *Master) sendJoin(ctx context.Context, join api.JoinRequest) error {
	body, err := json.Marshal(join)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(m.cfg.Join, "/")+"/api/v1/cluster/join", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build join request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if m.tokens != nil {
		value, err := m.tokens.Authorization()
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", value)
	}
	resp, err := m.peerClient(0).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s responded %d: %s", m.cfg.Join, resp.StatusCode, strings.TrimSpace(string(text)))
	}
	return nil
}
