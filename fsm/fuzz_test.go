package fsm

import (
	"reflect"
	"testing"

	"github.com/hashicorp/raft"
)

// FuzzApply feeds arbitrary entries to a state machine that already holds
// some state. Apply must never panic, and an entry it rejects must leave
// the state as it was.
func FuzzApply(f *testing.F) {
	for _, cmd := range []Command{
		CreateTask{Task: newTestTask("t-seed", at(1))},
		RegisterNode{Node: newTestNode("n-seed")},
		CreatePod{Pod: newTestPod("p-seed", at(2))},
		SetNodeStatus{NodeID: "n1", Status: "offline", Time: at(3)},
		Batch{Entries: [][]byte{{byte(CommandDeletePod), CommandVersion, '{', '}'}}},
	} {
		data, err := Encode(cmd)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte{})
	f.Add([]byte{byte(CommandCreateTask), CommandVersion, '{'})
	f.Fuzz(func(t *testing.T, data []byte) {
		m := populated(t)
		before := captureState(m)
		res := m.Apply(&raft.Log{Index: 1000, Data: data})
		if _, rejected := res.(error); rejected {
			after := captureState(m)
			after.AppliedIndex = before.AppliedIndex
			if !reflect.DeepEqual(before, after) {
				t.Errorf("rejected entry %q changed the state: %v", data, stateDiff(before, after))
			}
		}
	})
}
