package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/podling/podling/fsm"
)

// MaxSnapshotBytes limits the body of a snapshot restore.
const MaxSnapshotBytes = 1 << 30

// Backup is the part of the cluster that writes and restores backups.
type Backup interface {
	WriteSnapshot(w io.Writer) error
}

// Restorer replaces the cluster's state with a snapshot, which only the
// leader can do. It rejects a damaged snapshot with an error matching
// fsm.ErrInvalidSnapshot, and then changes nothing.
type Restorer interface {
	RestoreSnapshot(data []byte) error
}

// saveSnapshot streams this master's whole state, after the usual read
// barrier, so the backup includes every write acknowledged before it.
func (s *Server) saveSnapshot(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="podling-snapshot.json"`)
	if err := s.backup.WriteSnapshot(w); err != nil {
		s.logger.Error("writing snapshot failed", "error", err)
	}
}

// restoreSnapshot makes a snapshot the state of the whole cluster. A
// truncated or corrupted snapshot is a 400 and changes nothing.
func (s *Server) restoreSnapshot(r *http.Request, body []byte) (reply, error) {
	err := s.restorer.RestoreSnapshot(body)
	switch {
	case errors.Is(err, fsm.ErrInvalidSnapshot):
		return reply{}, invalid("", "%v", err)
	case err != nil:
		return reply{}, fmt.Errorf("restore: %w", err)
	}
	return reply{status: http.StatusOK, body: map[string]any{"restored": true, "bytes": len(body)}}, nil
}
