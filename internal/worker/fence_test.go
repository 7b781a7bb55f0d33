package worker

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/podling/podling/internal/runtime/fake"
	"github.com/podling/podling/internal/types"
)

// executeTerm dispatches a task with a term and returns the HTTP status.
func (tw *testWorker) executeTerm(t *testing.T, taskID string, term uint64) int {
	t.Helper()
	body, err := json.Marshal(types.ExecuteRequest{Task: types.Task{TaskID: taskID, Name: "test", Image: testImage}, Term: term, Index: 9})
	if err != nil {
		t.Fatalf("encode execute request: %v", err)
	}
	status, data := tw.do(t, http.MethodPost, "/api/v1/tasks/"+taskID+"/execute", body)
	if status == http.StatusConflict {
		var apiErr types.Error
		if err := json.Unmarshal(data, &apiErr); err != nil || apiErr.Code != codeStaleTerm {
			t.Errorf("409 body %s, want the code %s", data, codeStaleTerm)
		}
	}
	return status
}

func TestExecute_TermFence(t *testing.T) {
	const (
		created  = http.StatusAccepted
		known    = http.StatusOK
		rejected = http.StatusConflict
		sameTask = "20250119123456-fence001"
	)
	tests := []struct {
		name  string
		terms []uint64
		want  []int
	}{
		{"older after newer", []uint64{5, 3}, []int{created, rejected}},
		{"newer after older", []uint64{3, 5}, []int{created, known}},
		{"same term again", []uint64{5, 5}, []int{created, known}},
		{"no term after a term", []uint64{2, 0}, []int{created, rejected}},
		{"no term twice", []uint64{0, 0}, []int{created, known}},
		{"a term after none", []uint64{0, 4}, []int{created, known}},
		{"rejection keeps the highest term", []uint64{4, 6, 5, 6}, []int{created, known, rejected, known}},
		{"older terms rejected after a newer", []uint64{7, 2, 0, 7}, []int{created, rejected, rejected, known}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt := fake.New(testNodeID)
			tw := startWorker(t, rt, newStubMaster(t).URL())
			for i, term := range tc.terms {
				if got := tw.executeTerm(t, sameTask, term); got != tc.want[i] {
					t.Errorf("execute %d with term %d = %d, want %d", i+1, term, got, tc.want[i])
				}
			}
			if n := rt.Created(); n != 1 {
				t.Errorf("containers created = %d, want 1", n)
			}
		})
	}
}

// TestExecute_TermFenceAnyOrder sends the terms 1, 2 and 3 in every order:
// a dispatch is rejected exactly when a higher term arrived before it.
func TestExecute_TermFenceAnyOrder(t *testing.T) {
	for _, order := range permutations([]uint64{1, 2, 3}) {
		t.Run(fmt.Sprint(order), func(t *testing.T) {
			rt := fake.New(testNodeID)
			tw := startWorker(t, rt, newStubMaster(t).URL())
			const taskID = "20250119123456-fence002"
			highest := uint64(0)
			for i, term := range order {
				want := http.StatusOK
				switch {
				case i == 0:
					want = http.StatusAccepted
				case term < highest:
					want = http.StatusConflict
				}
				highest = max(highest, term)
				if got := tw.executeTerm(t, taskID, term); got != want {
					t.Errorf("term %d as dispatch %d = %d, want %d", term, i+1, got, want)
				}
			}
			if n := rt.Created(); n != 1 {
				t.Errorf("containers created = %d, want 1", n)
			}
		})
	}
}

// permutations returns every order of items.
func permutations(items []uint64) [][]uint64 {
	if len(items) <= 1 {
		return [][]uint64{append([]uint64(nil), items...)}
	}
	var all [][]uint64
	for i, first := range items {
		rest := append(append([]uint64(nil), items[:i]...), items[i+1:]...)
		for _, tail := range permutations(rest) {
			all = append(all, append([]uint64{first}, tail...))
		}
	}
	return all
}
