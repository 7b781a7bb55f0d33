package fsm

import (
	"errors"
	"fmt"
	"time"
)

// IdempotencyTTL is how long a create's Idempotency-Key is remembered,
// measured in the leader's time stamps carried by later creates, so every
// master drops a key at the same log entry.
const IdempotencyTTL = 24 * time.Hour

// ErrIdempotencyMismatch: an Idempotency-Key was used again with a
// different request.
var ErrIdempotencyMismatch = errors.New("idempotency key reused with a different request")

// Idempotency ties a create to the client's Idempotency-Key. RequestHash
// identifies the request, so a key reused for another request is rejected.
type Idempotency struct {
	Key         string    `json:"key"`
	RequestHash string    `json:"requestHash"`
	Time        time.Time `json:"time"`
}

// Replayed is Apply's result for a create whose Idempotency-Key was seen
// before: Object is the object that first create made, and nothing new
// was created.
type Replayed struct {
	Object any
}

// idempotencyRecord remembers what a key created.
type idempotencyRecord struct {
	Key         string    `json:"key"` // kind/key
	ObjectID    string    `json:"objectId"`
	RequestHash string    `json:"requestHash"`
	Time        time.Time `json:"time"`
}

// replayLocked returns the object an earlier create with the same key
// made, or nil when the key is new. It first drops keys older than the
// TTL, measured from this create's time.
func (f *FSM) replayLocked(kind string, idem *Idempotency, lookup func(id string) (any, bool)) (any, error) {
	if idem == nil {
		return nil, nil
	}
	f.pruneIdempotencyLocked(idem.Time)
	rec, ok := f.idempotency[kind+"/"+idem.Key]
	if !ok {
		return nil, nil
	}
	if rec.RequestHash != idem.RequestHash {
		return nil, fmt.Errorf("%w: key %q", ErrIdempotencyMismatch, idem.Key)
	}
	obj, ok := lookup(rec.ObjectID)
	if !ok {
		return nil, fmt.Errorf("the %s %s created under idempotency key %q was deleted since: %w", kind, rec.ObjectID, idem.Key, ErrConflict)
	}
	return Replayed{Object: obj}, nil
}

// rememberLocked records the object a keyed create made.
func (f *FSM) rememberLocked(kind string, idem *Idempotency, objectID string) {
	if idem == nil {
		return
	}
	rec := &idempotencyRecord{Key: kind + "/" + idem.Key, ObjectID: objectID, RequestHash: idem.RequestHash, Time: idem.Time}
	f.idempotency[rec.Key] = rec
	f.idempotencyOrder = append(f.idempotencyOrder, rec)
}

// pruneIdempotencyLocked drops keys recorded more than the TTL before now.
func (f *FSM) pruneIdempotencyLocked(now time.Time) {
	cutoff := now.Add(-IdempotencyTTL)
	drop := 0
	for drop < len(f.idempotencyOrder) && f.idempotencyOrder[drop].Time.Before(cutoff) {
		rec := f.idempotencyOrder[drop]
		if f.idempotency[rec.Key] == rec {
			delete(f.idempotency, rec.Key)
		}
		drop++
	}
	f.idempotencyOrder = f.idempotencyOrder[drop:]
}
