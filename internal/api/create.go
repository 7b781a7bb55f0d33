package api

import (
	"context"
	"errors"
	"time"

	"github.com/podling/podling/fsm"
	"github.com/podling/podling/internal/cluster"
	"github.com/podling/podling/internal/ids"
)

// idAttempts bounds how many fresh IDs a create tries. Two random IDs
// minted in the same second collide about once in 10^12 pairs, so a second
// attempt is already rare.
const idAttempts = 3

// proposeCreate proposes the create that build makes with a new ID, and
// again with another ID in the rare case that the state machine finds the
// ID taken.
func (s *Server) proposeCreate(ctx context.Context, now time.Time, build func(id string) fsm.Command) (cluster.Result, error) {
	for attempt := 1; ; attempt++ {
		res, err := s.raft.Propose(ctx, build(ids.New(now)))
		if !errors.Is(err, fsm.ErrIDTaken) || attempt == idAttempts {
			return res, err
		}
		s.logger.Warn("random ID already taken, proposing again with a new one", "attempt", attempt, "error", err)
	}
}
