package fsm

import (
	"errors"
	"fmt"

	"github.com/podling/podling/internal/types"
)

// Errors returned by Apply. A command rejected with one of them changed
// nothing. Callers test them with errors.Is.
var (
	// ErrNotFound: the task or node named by the command does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: a create named an ID that is already taken.
	ErrAlreadyExists = errors.New("already exists")
	// ErrIDTaken: a create named an ID that an object of its kind already
	// has. It matches ErrAlreadyExists too. IDs are random, so the create
	// can be proposed again with a new ID.
	ErrIDTaken = fmt.Errorf("ID taken: %w", ErrAlreadyExists)
	// ErrIllegalTransition: the status change is not allowed from the
	// current status. Returned as a *TransitionError.
	ErrIllegalTransition = errors.New("illegal status transition")
	// ErrConflict: the command contradicts current state in another way,
	// such as a report from a node the task is not placed on.
	ErrConflict = errors.New("conflict")
	// ErrInvalidCommand: the entry or its payload is malformed. Handlers
	// validate input before proposing, so this signals a bug.
	ErrInvalidCommand = errors.New("invalid command")
	// ErrUnknownCommand: the entry has a type or version this master does
	// not know, because a newer master wrote it.
	ErrUnknownCommand = errors.New("unknown command")
)

// TransitionError describes a rejected status change.
type TransitionError struct {
	ID   string
	From types.TaskStatus
	To   types.TaskStatus
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("task %s: cannot move from %s to %s", e.ID, e.From, e.To)
}

// Is makes errors.Is(err, ErrIllegalTransition) true.
func (e *TransitionError) Is(target error) bool { return target == ErrIllegalTransition }

// ErrInsufficientResources: the node has no room for the placement.
var ErrInsufficientResources = errors.New("insufficient resources")

// PodTransitionError describes a rejected pod phase change.
type PodTransitionError struct {
	ID   string
	From types.PodStatus
	To   types.PodStatus
}

func (e *PodTransitionError) Error() string {
	return fmt.Sprintf("pod %s: cannot move from %s to %s", e.ID, e.From, e.To)
}

// Is makes errors.Is(err, ErrIllegalTransition) true.
func (e *PodTransitionError) Is(target error) bool { return target == ErrIllegalTransition }
