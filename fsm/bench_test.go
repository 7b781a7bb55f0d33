package fsm

import (
	"bytes"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/podling/podling/internal/types"
)

const benchTaskCount = 100_000

// largeFSM returns an FSM with benchTaskCount tasks spread over ten nodes,
// an equal share in each status. It calls applyLocked directly, which skips
// only the decoding that BenchmarkApplyCreateTask measures.
func largeFSM(b *testing.B) *FSM {
	b.Helper()
	f := New(nil)
	f.mu.Lock()
	defer f.mu.Unlock()
	mustApplyLocked := func(cmd Command) {
		if _, err := f.applyLocked(cmd); err != nil {
			b.Fatalf("apply %s: expected success, got %v", cmd.Type(), err)
		}
	}

	for i := range 10 {
		node := newTestNode(fmt.Sprintf("n%d", i))
		node.Capacity = benchTaskCount // room for every task the loop places
		mustApplyLocked(RegisterNode{Node: node})
	}
	for i := range benchTaskCount {
		id := fmt.Sprintf("20250119123456-%08d", i)
		created := baseTime.Add(time.Duration(i) * time.Millisecond)
		mustApplyLocked(CreateTask{Task: newTestTask(id, created)})

		target := allTaskStatuses[i%len(allTaskStatuses)]
		node := fmt.Sprintf("n%d", i%10)
		for _, next := range lifecycle[1:] {
			if statusRank[next] > statusRank[target] {
				break
			}
			if target == types.TaskFailed && next == types.TaskCompleted {
				next = types.TaskFailed
			}
			mustApplyLocked(UpdateTaskStatus{
				TaskID: id,
				Update: types.TaskStatusUpdate{Status: next, NodeID: node},
				Time:   created,
			})
		}
	}
	return f
}

func BenchmarkEncode(b *testing.B) {
	cmd := UpdateTaskStatus{
		TaskID: "20250119123456-abc12345",
		Update: types.TaskStatusUpdate{
			Status: types.TaskCompleted, ContainerID: "3f2a9c", ExitCode: intPtr(0), NodeID: "worker-1",
		},
		Time: baseTime,
	}
	for b.Loop() {
		if _, err := Encode(cmd); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkApplyCreateTask(b *testing.B) {
	entries := make([][]byte, b.N)
	for i := range entries {
		task := newTestTask(fmt.Sprintf("20250119123456-%08d", i), baseTime)
		task.Env = map[string]string{"PORT": "8080"}
		entries[i] = encode(b, CreateTask{Task: task})
	}
	f := New(nil)
	b.ReportAllocs()
	b.ResetTimer()

	for i, data := range entries {
		if err := resultError(f.Apply(&raft.Log{Index: uint64(i + 1), Data: data})); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApplyCreateTaskBatched applies creates eight to an entry, as
// the leader batches them under load; the time is per create.
func BenchmarkApplyCreateTaskBatched(b *testing.B) {
	const perEntry = 8
	var entries [][]byte
	for i := 0; i < b.N; i += perEntry {
		var batch Batch
		for j := i; j < min(i+perEntry, b.N); j++ {
			task := newTestTask(fmt.Sprintf("20250119123456-%08d", j), baseTime)
			task.Env = map[string]string{"PORT": "8080"}
			batch.Entries = append(batch.Entries, encode(b, CreateTask{Task: task}))
		}
		entries = append(entries, encode(b, batch))
	}
	f := New(nil)
	b.ReportAllocs()
	b.ResetTimer()

	for i, data := range entries {
		for _, result := range f.Apply(&raft.Log{Index: uint64(i + 1), Data: data}).(BatchResults) {
			if err := resultError(result); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkTaskGet100k(b *testing.B) {
	f := largeFSM(b)
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = fmt.Sprintf("20250119123456-%08d", i*97%benchTaskCount)
	}

	i := 0
	for b.Loop() {
		if _, ok := f.Task(ids[i%len(ids)]); !ok {
			b.Fatalf("Task(%q): expected found, got not found", ids[i%len(ids)])
		}
		i++
	}
}

func BenchmarkTasksList100k(b *testing.B) {
	f := largeFSM(b)
	b.ReportAllocs()

	for b.Loop() {
		if got := f.Tasks(TaskFilter{}); len(got) != benchTaskCount {
			b.Fatalf("expected %d tasks, got %d", benchTaskCount, len(got))
		}
	}
}

func BenchmarkTasksByStatus100k(b *testing.B) {
	f := largeFSM(b)
	want := benchTaskCount / len(allTaskStatuses)
	b.ReportAllocs()

	for b.Loop() {
		if got := f.Tasks(TaskFilter{Status: types.TaskRunning}); len(got) != want {
			b.Fatalf("expected %d running tasks, got %d", want, len(got))
		}
	}
}

// largeSnapshot returns the snapshot of largeFSM's state.
func largeSnapshot(b *testing.B) []byte {
	b.Helper()
	var buf bytes.Buffer
	if err := largeFSM(b).WriteSnapshot(&buf); err != nil {
		b.Fatalf("WriteSnapshot: expected no error, got %v", err)
	}
	return buf.Bytes()
}

func BenchmarkSnapshotWrite100k(b *testing.B) {
	f := largeFSM(b)
	b.ReportAllocs()

	for b.Loop() {
		if err := f.WriteSnapshot(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSnapshotRestore100k(b *testing.B) {
	data := largeSnapshot(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()

	for b.Loop() {
		if err := New(nil).Restore(io.NopCloser(bytes.NewReader(data))); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSnapshotCheck100k(b *testing.B) {
	data := largeSnapshot(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()

	for b.Loop() {
		if err := CheckSnapshot(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}
