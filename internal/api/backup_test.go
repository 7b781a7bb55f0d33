package api_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/podling/podling/fsm"
	"github.com/podling/podling/internal/api"
)

// fsmRestorer restores snapshots straight into an FSM, checking each one
// first as the cluster does.
type fsmRestorer struct {
	state *fsm.FSM
	err   error // returned after the check instead of restoring, when set
}

func (r *fsmRestorer) RestoreSnapshot(data []byte) error {
	drop, err := r.state.PrepareRestore(data)
	if err != nil {
		return err
	}
	defer drop()
	if r.err != nil {
		return r.err
	}
	return r.state.Restore(io.NopCloser(bytes.NewReader(data)))
}

// newRestoringLeader returns a leader whose restores go to restorer, and
// the backup of another leader's state with one task.
func newRestoringLeader(t *testing.T, restorer *fsmRestorer) (*master, string) {
	t.Helper()
	source := newLeader(t, masterOptions{})
	createTask(t, source, `{"name":"from-backup","image":"nginx"}`)
	backup := do(t, source.server, http.MethodGet, "/api/v1/cluster/snapshot", "")
	wantStatus(t, backup, http.StatusOK)

	m := newLeader(t, masterOptions{restorer: func(f *fsm.FSM) api.Restorer {
		restorer.state = f
		return restorer
	}})
	createTask(t, m, `{"name":"before-restore","image":"nginx"}`)
	return m, backup.Body.String()
}

func TestRestoreSnapshot_ReplacesState(t *testing.T) {
	restorer := &fsmRestorer{}
	m, backup := newRestoringLeader(t, restorer)

	rec := do(t, m.server, http.MethodPost, "/api/v1/cluster/snapshot/restore", backup)

	wantStatus(t, rec, http.StatusOK)
	tasks := m.fsm.Tasks(fsm.TaskFilter{})
	if len(tasks) != 1 || tasks[0].Name != "from-backup" {
		t.Errorf("tasks after restore: expected only from-backup, got %+v", tasks)
	}
}

func TestRestoreSnapshot_DamagedSnapshotRejected(t *testing.T) {
	restorer := &fsmRestorer{}
	m, backup := newRestoringLeader(t, restorer)
	for name, body := range map[string]string{
		"truncated":     backup[:len(backup)/2],
		"newer version": strings.Replace(backup, `"version":1`, `"version":2`, 1),
		"repeated key":  strings.Replace(backup, `"version":1`, `"version":1,"version":1`, 1),
	} {
		t.Run(name, func(t *testing.T) {
			before := takeSnapshot(m.fsm)

			rec := do(t, m.server, http.MethodPost, "/api/v1/cluster/snapshot/restore", body)

			wantError(t, rec, http.StatusBadRequest, "invalid_argument", "invalid snapshot")
			wantUnchanged(t, m.fsm, before)
		})
	}
}

func TestRestoreSnapshot_RaftFailureIsServerError(t *testing.T) {
	restorer := &fsmRestorer{err: errors.New("raft is shutting down")}
	m, backup := newRestoringLeader(t, restorer)
	before := takeSnapshot(m.fsm)

	rec := do(t, m.server, http.MethodPost, "/api/v1/cluster/snapshot/restore", backup)

	if rec.Code < 500 {
		t.Errorf("expected a server error, got status %d: %s", rec.Code, rec.Body)
	}
	wantUnchanged(t, m.fsm, before)
}
