package worker

import "net/http"

// dispatch is the Raft term of the leader that dispatched a task or pod and
// the log index of its placement.
type dispatch struct {
	term, index uint64
}

// fence orders the dispatches of tasks or of pods by the term of the
// leader that sent them. A delayed dispatch from a deposed leader is
// rejected once a newer leader's dispatch of the same ID was accepted.
// Only terms order dispatches, and the index is kept with its term.
//
// A fence is not safe for concurrent use, so the table that owns it
// guards it with its own mutex.
//
// NOTE: entries are never dropped, which costs some tens of bytes per task
// or pod the worker has ever been sent, until it restarts.
type fence struct {
	// kind is "task" or "pod", for error messages.
	kind   string
	latest map[string]dispatch
}

func newFence(kind string) fence {
	return fence{kind: kind, latest: make(map[string]dispatch)}
}

// check returns a 409 error with the code stale_term when d's term is
// lower than the term of the latest dispatch accepted for id. A dispatch
// without a term, whose term is zero, thus passes only while no term has
// been accepted for id.
func (f *fence) check(id string, d dispatch) error {
	if latest := f.latest[id]; d.term < latest.term {
		return newAPIError(http.StatusConflict, codeStaleTerm,
			"dispatch of %s %s has term %d, lower than term %d already accepted", f.kind, id, d.term, latest.term)
	}
	return nil
}

// record makes d the latest dispatch accepted for id.
func (f *fence) record(id string, d dispatch) {
	f.latest[id] = d
}
