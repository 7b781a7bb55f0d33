package fsm

import (
	"testing"
	"time"
)

func TestRecordLeader_KeepsOrderAndGaps(t *testing.T) {
	f := New(nil)
	mustApply(t, f, RecordLeader{ServerID: "m1", Term: 2, Time: at(0)})
	mustApply(t, f, RecordLeader{ServerID: "m1", Term: 2, Time: at(1)}) // a retry
	mustApply(t, f, RecordLeader{ServerID: "m2", Term: 3, Time: at(5)})

	got := f.LeaderChanges()

	if len(got) != 2 {
		t.Fatalf("record: expected 2 takeovers, got %d: %+v", len(got), got)
	}
	if got[1].LeaderID != "m2" || got[1].PreviousLeaderID != "m1" || got[1].SincePrevious != (5*time.Second).String() {
		t.Errorf("second takeover: expected m2 after m1 5s later, got %+v", got[1])
	}
}

func TestRecordLeader_BoundedAndInSnapshot(t *testing.T) {
	f := New(nil)
	for term := uint64(1); term <= maxLeaderChanges+10; term++ {
		mustApply(t, f, RecordLeader{ServerID: "m1", Term: term, Time: at(int(term))})
	}
	if n := len(f.LeaderChanges()); n != maxLeaderChanges {
		t.Fatalf("record length: expected %d, got %d", maxLeaderChanges, n)
	}
	restored := New(nil)
	if err := restored.Restore(newTrackedReader(persistSnapshot(t, f))); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if got, want := restored.LeaderChanges(), f.LeaderChanges(); len(got) != len(want) || got[0] != want[0] {
		t.Errorf("restored record: expected %d entries starting %+v, got %d starting %+v", len(want), want[0], len(got), got[0])
	}
}
