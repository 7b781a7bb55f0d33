package fsm

import (
	"fmt"

	"github.com/podling/podling/internal/types"
)

// maxLeaderChanges bounds the failover record.
const maxLeaderChanges = 100

// recordLeaderLocked appends a takeover to the failover record. A record
// for the term of the newest entry is ignored, since a term has one leader
// and a new leader may retry its record.
func (f *FSM) recordLeaderLocked(c RecordLeader) error {
	if c.ServerID == "" || c.Term == 0 {
		return fmt.Errorf("%w: a leader record needs a server ID and a term", ErrInvalidCommand)
	}
	change := types.LeaderChange{LeaderID: c.ServerID, Term: c.Term, At: c.Time}
	if n := len(f.leaders); n > 0 {
		prev := f.leaders[n-1]
		if prev.Term == c.Term {
			return nil
		}
		change.PreviousLeaderID = prev.LeaderID
		change.SincePrevious = c.Time.Sub(prev.At).String()
	}
	f.leaders = append(f.leaders, change)
	if len(f.leaders) > maxLeaderChanges {
		f.leaders = append([]types.LeaderChange(nil), f.leaders[len(f.leaders)-maxLeaderChanges:]...)
	}
	return nil
}

// LeaderChanges returns the failover record, oldest first.
func (f *FSM) LeaderChanges() []types.LeaderChange {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return append([]types.LeaderChange{}, f.leaders...)
}
