package bench

import (
	"bytes"
	"fmt"
	"time"

	"github.com/hashicorp/raft"

	"github.com/podling/podling/fsm"
	"github.com/podling/podling/internal/ids"
	"github.com/podling/podling/internal/types"
)

// GenerateSnapshot builds, with the fsm package, the snapshot of a cluster
// holding tasks pending tasks and pods pending pods, as the creates of the
// scale run would leave them, and the API addresses of masters. It returns
// the snapshot and the ID of one of its tasks.
func GenerateSnapshot(masters []*Master, tasks, pods int) ([]byte, string, error) {
	state := fsm.New(nil)
	index := uint64(0)
	apply := func(cmd fsm.Command) error {
		data, err := fsm.Encode(cmd)
		if err != nil {
			return err
		}
		index++
		if result := state.Apply(&raft.Log{Index: index, Data: data}); result != nil {
			if err, ok := result.(error); ok {
				return fmt.Errorf("apply %s: %w", cmd.Type(), err)
			}
		}
		return nil
	}
	for _, m := range masters {
		if err := apply(fsm.SetMasterAddress{ServerID: m.ID, APIAddress: m.URL()}); err != nil {
			return nil, "", err
		}
	}
	start := time.Now().UTC()
	newID := uniqueIDs()
	var probeID string
	for i := range tasks {
		created := start.Add(time.Duration(i) * time.Microsecond)
		task := types.Task{
			TaskID: newID(created), Name: fmt.Sprintf("s-%d", i), Namespace: types.DefaultNamespace,
			Labels: map[string]string{"bench": "s"}, Image: "podling/echo:dev", CreatedAt: created,
		}
		probeID = task.TaskID
		if err := apply(fsm.CreateTask{Task: task}); err != nil {
			return nil, "", err
		}
	}
	for i := range pods {
		pod := generatedPod(i, start)
		pod.PodID = newID(pod.CreatedAt)
		if err := apply(fsm.CreatePod{Pod: pod}); err != nil {
			return nil, "", err
		}
	}
	var buf bytes.Buffer
	if err := state.WriteSnapshot(&buf); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), probeID, nil
}

func generatedPod(i int, start time.Time) types.Pod {
	created := start.Add(time.Duration(i) * time.Microsecond)
	return types.Pod{
		Name: fmt.Sprintf("scale-%d", i), Namespace: types.DefaultNamespace,
		Labels:        map[string]string{"bench": "scale"},
		Containers:    []types.Container{{Name: "app", Image: "podling/echo:dev", Ports: []types.ContainerPort{{ContainerPort: 8080}}}},
		RestartPolicy: types.RestartAlways, CreatedAt: created,
	}
}

// uniqueIDs returns a generator of object IDs that never repeats one. Among
// 100,000 random IDs minted in one second, two collide with a chance of
// about half a percent, which the API handles by proposing again.
func uniqueIDs() func(time.Time) string {
	seen := make(map[string]bool)
	return func(created time.Time) string {
		for {
			id := ids.New(created)
			if !seen[id] {
				seen[id] = true
				return id
			}
		}
	}
}
