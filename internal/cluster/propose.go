package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"

	"github.com/podling/podling/fsm"
)

// Result is the outcome of a committed command.
type Result struct {
	// Value is the state machine's result: the changed object, or nil.
	Value any
	// Index is the log index the command was committed at.
	Index uint64
}

// Propose encodes cmd, replicates it through Raft and waits until this
// master has applied it. It is the one path by which commands change the
// state; only a snapshot restore replaces the state otherwise.
//
// The error distinguishes three outcomes. The command was not replicated:
// ErrNotLeader, ErrTooLarge, ErrTimeout, ErrShutdown or ErrLeadershipLost,
// and the last one means the outcome is unknown. The command was committed
// but the state machine rejected it: an error wrapping an fsm sentinel,
// with Result.Index set. Or it succeeded.
func (n *Node) Propose(ctx context.Context, cmd fsm.Command) (Result, error) {
	if cmd.Type() == fsm.CommandBatch {
		return Result{}, fmt.Errorf("%w: batches are made by Propose, not passed to it", fsm.ErrInvalidCommand)
	}
	data, err := fsm.Encode(cmd)
	if err != nil {
		return Result{}, err
	}
	if len(data) > MaxCommandSize {
		return Result{}, fmt.Errorf("%s of %d bytes, limit %d: %w", cmd.Type(), len(data), MaxCommandSize, ErrTooLarge)
	}
	if n.raft.State() != raft.Leader {
		return Result{}, ErrNotLeader
	}

	start := time.Now()
	p := &proposal{data: data, done: make(chan outcome, 1)}
	if err := n.batches.enqueue(p, n.applyTimeout(ctx)); err != nil {
		return Result{}, fmt.Errorf("propose %s: %w", cmd.Type(), err)
	}
	out := <-p.done
	if out.err != nil {
		return Result{}, fmt.Errorf("propose %s: %w", cmd.Type(), out.err)
	}
	if n.observeApply != nil {
		n.observeApply(cmd.Type().String(), time.Since(start))
	}
	if fsmErr, ok := out.value.(error); ok {
		// The state machine's errors name the object and the cause, which
		// is what a client needs; the command type would only add noise.
		return Result{Index: out.index}, fsmErr
	}
	return Result{Value: out.value, Index: out.index}, nil
}

// applyTimeout is the configured apply timeout, shortened to the context's
// deadline. Raft cannot abandon an entry it has accepted, so a cancelled
// context only bounds how long the caller waits to enqueue it for the
// batcher.
func (n *Node) applyTimeout(ctx context.Context) time.Duration {
	timeout := n.timing.Apply
	if deadline, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(deadline))
	}
	return max(timeout, time.Millisecond)
}

func mapRaftError(err error) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader):
		return fmt.Errorf("%w: %w", ErrNotLeader, err)
	case errors.Is(err, raft.ErrLeadershipTransferInProgress):
		// Raft refuses new entries during a handover before storing them,
		// so the command was not applied and may be sent again.
		return fmt.Errorf("%w: %w", ErrNotLeader, err)
	case errors.Is(err, raft.ErrLeadershipLost):
		return fmt.Errorf("%w: %w", ErrLeadershipLost, err)
	case errors.Is(err, raft.ErrEnqueueTimeout):
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	case errors.Is(err, raft.ErrRaftShutdown):
		return fmt.Errorf("%w: %w", ErrShutdown, err)
	}
	return err
}

// VerifyLeader confirms with a quorum that this master is still the
// leader. Concurrent callers share one round of heartbeats that started
// after they called, so many linearizable reads cost one round.
func (n *Node) VerifyLeader() error {
	_, err := n.verifications.Do(context.Background(), "", func() (struct{}, error) {
		if err := n.raft.VerifyLeader().Error(); err != nil {
			return struct{}{}, fmt.Errorf("verify leadership: %w", mapRaftError(err))
		}
		return struct{}{}, nil
	})
	return err
}

// Barrier waits until every entry committed before the call has been
// applied to this master's state machine.
func (n *Node) Barrier(timeout time.Duration) error {
	if err := n.raft.Barrier(timeout).Error(); err != nil {
		return fmt.Errorf("barrier: %w", mapRaftError(err))
	}
	return nil
}
