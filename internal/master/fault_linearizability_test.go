package master

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/podling/podling/internal/types"
)

// The history of the linearizability test: what each client sends, for how
// long, and to how many tasks at once.
const (
	linClients     = 5
	linDuration    = 15 * time.Second
	linOpTimeout   = 6 * time.Second // above the API's 5 s read wait
	linActiveTasks = 6               // clients work on the newest tasks, so they contend
	linNodeID      = "lin-node"
	linCheckTime   = 2 * time.Minute
)

type opKind string

const (
	opCreate opKind = "create"
	opUpdate opKind = "update"
	opRead   opKind = "read"
)

// taskInput is one client operation on one task.
type taskInput struct {
	Kind   opKind
	TaskID string
	Status types.TaskStatus // the status an update reports
}

// taskOutput is what the cluster returned. Unknown marks an update whose
// outcome the client could not learn: it may or may not have been
// applied, now or later.
type taskOutput struct {
	Unknown bool
	Absent  bool // 404
	Illegal bool // 409 illegal_transition
	Status  types.TaskStatus
}

// statusRank orders task states along the lifecycle, as docs/API.md
// states it. Both final states share the last rank.
var statusRank = map[types.TaskStatus]int{
	types.TaskPending: 0, types.TaskScheduled: 1, types.TaskRunning: 2,
	types.TaskCompleted: 3, types.TaskFailed: 3,
}

// applyReport is the specification of a worker's status report: it
// returns the status after the report and whether the cluster accepts it.
// A report that repeats or lags behind the current status is accepted and
// changes nothing. Failed is reachable from any status that is not final.
// Any other report may only move the task one step forward.
func applyReport(current, reported types.TaskStatus) (types.TaskStatus, bool) {
	final := func(s types.TaskStatus) bool { return s == types.TaskCompleted || s == types.TaskFailed }
	switch {
	case reported == current:
		return current, true
	case final(current) && final(reported):
		return current, false
	case statusRank[reported] < statusRank[current]:
		return current, true
	case reported == types.TaskFailed:
		return reported, true
	case statusRank[reported] == statusRank[current]+1:
		return reported, true
	}
	return current, false
}

// stepTask is the model of one task. Its state is the task's status, ""
// while the task does not exist. Besides the clients, only the scheduler
// changes a task, by placing a pending one (scheduled) at any moment, so a
// pending task may be scheduled before any operation.
func stepTask(state, input, output any) []any {
	current, in, out := state.(types.TaskStatus), input.(taskInput), output.(taskOutput)
	candidates := []types.TaskStatus{current}
	if current == types.TaskPending {
		candidates = append(candidates, types.TaskScheduled)
	}
	var next []any
	for _, c := range candidates {
		if s, ok := stepFrom(c, in, out); ok {
			next = append(next, s)
		}
	}
	return next
}

// stepFrom returns the state after the operation from state current, and
// whether the operation could have returned output there.
func stepFrom(current types.TaskStatus, in taskInput, out taskOutput) (types.TaskStatus, bool) {
	switch in.Kind {
	case opCreate:
		return types.TaskPending, current == "" && out.Status == types.TaskPending
	case opRead:
		return current, (out.Absent && current == "") || (!out.Absent && out.Status == current)
	}
	if current == "" {
		return current, out.Unknown || out.Absent
	}
	after, accepted := applyReport(current, in.Status)
	switch {
	case out.Unknown:
		return after, true
	case out.Illegal:
		return current, !accepted
	case out.Absent:
		return current, false
	}
	return after, accepted && out.Status == after
}

var taskModel = porcupine.NondeterministicModel{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byTask := map[string][]porcupine.Operation{}
		var order []string
		for _, op := range history {
			id := op.Input.(taskInput).TaskID
			if _, ok := byTask[id]; !ok {
				order = append(order, id)
			}
			byTask[id] = append(byTask[id], op)
		}
		var out [][]porcupine.Operation
		for _, id := range order {
			out = append(out, byTask[id])
		}
		return out
	},
	Init: func() []any { return []any{types.TaskStatus("")} },
	Step: stepTask,
	DescribeOperation: func(input, output any) string {
		in, out := input.(taskInput), output.(taskOutput)
		result := string(out.Status)
		switch {
		case out.Unknown:
			result = "unknown"
		case out.Absent:
			result = "404"
		case out.Illegal:
			result = "409 illegal"
		}
		if in.Kind == opUpdate {
			return fmt.Sprintf("%s %s(%s) -> %s", in.TaskID, in.Kind, in.Status, result)
		}
		return fmt.Sprintf("%s %s -> %s", in.TaskID, in.Kind, result)
	},
	DescribeState: func(state any) string {
		if s := state.(types.TaskStatus); s != "" {
			return string(s)
		}
		return "absent"
	},
}

// history collects the operations of every client, with times in
// nanoseconds since its start.
type history struct {
	start time.Time
	mu    sync.Mutex
	ops   []porcupine.Operation
	tally map[string]int // outcomes by operation kind, for the log
	odd   []string       // responses the API does not document for the request
}

func newHistory() *history { return &history{start: time.Now(), tally: map[string]int{}} }

func (h *history) now() int64 { return time.Since(h.start).Nanoseconds() }

func (h *history) record(client int, in taskInput, call, ret int64, out taskOutput) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ops = append(h.ops, porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret})
}

func (h *history) count(kind opKind, outcome string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tally[string(kind)+" "+outcome]++
}

func (h *history) unexpected(format string, args ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.odd = append(h.odd, fmt.Sprintf(format, args...))
}

func (h *history) summary() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var parts []string
	for k, v := range h.tally {
		parts = append(parts, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// taskPool holds the IDs of created tasks for clients to pick from.
type taskPool struct {
	mu  sync.Mutex
	ids []string
}

func (p *taskPool) add(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ids = append(p.ids, id)
}

// pick returns one of the newest tasks, or "" when there is none yet.
func (p *taskPool) pick(rng *rand.Rand) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.ids) == 0 {
		return ""
	}
	recent := p.ids[max(0, len(p.ids)-linActiveTasks):]
	return recent[rng.IntN(len(recent))]
}

// linClient sends random operations to random masters and records them.
type linClient struct {
	id     int
	urls   []string
	http   *http.Client
	rng    *rand.Rand
	pool   *taskPool
	record *history
}

func (c *linClient) run(ctx context.Context) {
	for ctx.Err() == nil {
		url := c.urls[c.rng.IntN(len(c.urls))]
		taskID := c.pool.pick(c.rng)
		switch p := c.rng.Float64(); {
		case taskID == "" || p < 0.2:
			c.create(url)
		case p < 0.6:
			c.update(url, taskID, []types.TaskStatus{types.TaskRunning, types.TaskRunning, types.TaskCompleted, types.TaskFailed}[c.rng.IntN(4)])
		default:
			c.read(url, taskID)
		}
	}
}

// do sends one request. A request that never reached a master, because
// that master is down, pauses the client briefly instead of spinning.
func (c *linClient) do(method, url string, body any) (response, error) {
	res, err := send(context.Background(), c.http, method, url, body, nil)
	if err != nil && notSent(err) {
		time.Sleep(20 * time.Millisecond)
	}
	return res, err
}

func (c *linClient) create(url string) {
	call := c.record.now()
	res, err := c.do(http.MethodPost, url+"/api/v1/tasks", types.CreateTaskRequest{Name: "lin", Image: "podling/echo:dev"})
	ret := c.record.now()
	if err != nil || res.status != http.StatusCreated {
		// A create that failed has no task ID that any later operation
		// could name, so leaving it out loses nothing.
		c.record.count(opCreate, outcomeOf(res, err))
		c.checkDocumented(opCreate, res, err)
		return
	}
	var task types.Task
	if err := json.Unmarshal(res.body, &task); err != nil {
		c.record.unexpected("create returned 201 with %s: %v", res.body, err)
		return
	}
	c.record.count(opCreate, "201")
	c.record.record(c.id, taskInput{Kind: opCreate, TaskID: task.TaskID}, call, ret, taskOutput{Status: task.Status})
	c.pool.add(task.TaskID)
}

func (c *linClient) update(url, taskID string, status types.TaskStatus) {
	in := taskInput{Kind: opUpdate, TaskID: taskID, Status: status}
	body := types.TaskStatusUpdate{Status: status, NodeID: linNodeID}
	call := c.record.now()
	res, err := c.do(http.MethodPut, url+"/api/v1/tasks/"+taskID+"/status", body)
	ret := c.record.now()
	c.record.count(opUpdate, outcomeOf(res, err))
	c.checkDocumented(opUpdate, res, err)
	out, known := updateOutput(res, err)
	switch {
	case !known:
		return
	case out.Unknown:
		// It may take effect at any time after the call, even after
		// every other operation.
		ret = math.MaxInt64
	}
	c.record.record(c.id, in, call, ret, out)
}

// updateOutput classifies an update's response. known is false when the
// update certainly did not change anything and tells nothing, so it can be
// left out of the history: a request that never reached a master, and 503
// no_leader, which the API returns only before anything was proposed.
func updateOutput(res response, err error) (out taskOutput, known bool) {
	switch {
	case err != nil && notSent(err):
		return out, false
	case err != nil:
		return taskOutput{Unknown: true}, true
	case res.status == http.StatusOK:
		var task types.Task
		if json.Unmarshal(res.body, &task) != nil {
			return taskOutput{Unknown: true}, true
		}
		return taskOutput{Status: task.Status}, true
	case res.status == http.StatusNotFound:
		return taskOutput{Absent: true}, true
	case res.status == http.StatusConflict && res.code() == "illegal_transition":
		return taskOutput{Illegal: true}, true
	case res.status == http.StatusServiceUnavailable && res.code() == "no_leader":
		return out, false
	}
	// outcome_unknown, timeout, shutting_down, canceled, and anything
	// else: the report may have been committed.
	return taskOutput{Unknown: true}, true
}

func (c *linClient) read(url, taskID string) {
	call := c.record.now()
	res, err := c.do(http.MethodGet, url+"/api/v1/tasks/"+taskID, nil)
	ret := c.record.now()
	c.record.count(opRead, outcomeOf(res, err))
	c.checkDocumented(opRead, res, err)
	switch {
	case err != nil:
		return // a failed read changes nothing
	case res.status == http.StatusOK:
		var task types.Task
		if err := json.Unmarshal(res.body, &task); err != nil {
			c.record.unexpected("read returned 200 with %s: %v", res.body, err)
			return
		}
		c.record.record(c.id, taskInput{Kind: opRead, TaskID: taskID}, call, ret, taskOutput{Status: task.Status})
	case res.status == http.StatusNotFound:
		c.record.record(c.id, taskInput{Kind: opRead, TaskID: taskID}, call, ret, taskOutput{Absent: true})
	}
}

// documented503 lists the codes docs/API.md gives for a 503 to a task
// request.
var documented503 = map[string]bool{"no_leader": true, "outcome_unknown": true, "timeout": true, "shutting_down": true, "canceled": true}

// checkDocumented notes a response that docs/API.md does not list for the
// request, such as a 500 or a 409 conflict from the only node there is.
func (c *linClient) checkDocumented(kind opKind, res response, err error) {
	if err != nil {
		return
	}
	switch {
	case res.status == http.StatusServiceUnavailable && documented503[res.code()]:
	case res.status == http.StatusServiceUnavailable && res.header.Get("Retry-After") == "":
		c.record.unexpected("%s: 503 without Retry-After: %s", kind, res.body)
	case kind == opCreate && res.status == http.StatusCreated:
	case kind == opUpdate && (res.status == http.StatusOK || (res.status == http.StatusConflict && res.code() == "illegal_transition")):
	case kind == opRead && res.status == http.StatusOK:
	default:
		c.record.unexpected("%s: status %d: %s", kind, res.status, res.body)
	}
}

func outcomeOf(res response, err error) string {
	switch {
	case err != nil && notSent(err):
		return "not-sent"
	case errors.Is(err, context.DeadlineExceeded) || (err != nil && strings.Contains(err.Error(), "Client.Timeout")):
		return "client-timeout"
	case err != nil:
		return "conn-error"
	case res.status >= 400:
		return fmt.Sprintf("%d-%s", res.status, res.code())
	}
	return fmt.Sprint(res.status)
}

// runFaults injects faults in a cycle until ctx ends: kill the leader and
// restart it, cut the leader off from the majority and heal, cut a
// follower off and heal. It returns the faults it injected and the errors
// it met. Every fault is undone before it returns.
func (fc *faultCluster) runFaults(ctx context.Context) (injected []string, errs []error) {
	steps := []func(context.Context) (string, error){fc.killAndRestartLeader, fc.isolateLeaderBriefly, fc.isolateFollowerBriefly}
	for i := 0; ctx.Err() == nil; i++ {
		what, err := steps[i%len(steps)](ctx)
		if err != nil {
			errs = append(errs, err)
		}
		if what != "" {
			injected = append(injected, what)
		}
		if _, err := fc.leader(leaderWait); err != nil {
			errs = append(errs, fmt.Errorf("after %s: %w", what, err))
		}
		pause(ctx, 700*time.Millisecond)
	}
	return injected, errs
}

func (fc *faultCluster) killAndRestartLeader(ctx context.Context) (string, error) {
	killed, err := fc.killLeader()
	if killed < 0 {
		return "", err
	}
	pause(ctx, time.Second)
	return "kill " + fc.ids[killed], errors.Join(err, fc.restart(killed))
}

func (fc *faultCluster) isolateLeaderBriefly(ctx context.Context) (string, error) {
	cut, err := fc.cutLeaderOff()
	if err != nil {
		return "", err
	}
	defer fc.heal()
	pause(ctx, 2*time.Second)
	return "cut off leader " + fc.ids[cut], nil
}

func (fc *faultCluster) isolateFollowerBriefly(ctx context.Context) (string, error) {
	cut, err := fc.cutFollowerOff()
	if err != nil {
		return "", err
	}
	defer fc.heal()
	pause(ctx, 1500*time.Millisecond)
	return "cut off follower " + fc.ids[cut], nil
}

func TestFault_TaskHistoryIsLinearizable(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 20 s")
	}
	// No node expires during the run, so besides the clients only the
	// scheduler changes tasks, which the model allows for.
	fc := startFaultCluster(t, 3, withTTL(time.Hour))
	if _, err := fc.leader(leaderWait); err != nil {
		t.Fatal(err)
	}
	newFakeWorker(t).register(t, fc, linNodeID)

	record, pool := newHistory(), &taskPool{}
	ctx, cancel := context.WithTimeout(context.Background(), linDuration)
	defer cancel()
	var wg sync.WaitGroup
	for i := range linClients {
		c := &linClient{id: i, urls: fc.urls, http: newTestClient(t, linOpTimeout), rng: rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano()))), pool: pool, record: record}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.run(ctx)
		}()
	}
	injected, faultErrs := fc.runFaults(ctx)
	wg.Wait()

	t.Logf("faults: %s", strings.Join(injected, ", "))
	t.Logf("outcomes: %s", record.summary())
	fc.skipIfStuck(t)
	for _, err := range faultErrs {
		t.Errorf("fault injection: %v", err)
	}
	for _, odd := range record.odd {
		t.Errorf("response not documented in the API: %s", odd)
	}
	checkLinearizable(t, record.ops)
}

// checkLinearizable checks the history against taskModel and, when it is
// not linearizable, writes porcupine's visualisation and fails.
func checkLinearizable(t *testing.T, ops []porcupine.Operation) {
	t.Helper()
	model := taskModel.ToModel()
	started := time.Now()
	result, info := porcupine.CheckOperationsVerbose(model, ops, linCheckTime)
	t.Logf("checked %d operations in %s: %s", len(ops), time.Since(started).Round(time.Millisecond), result)
	if len(ops) < 100 {
		t.Errorf("only %d operations recorded, too few for the check to mean much", len(ops))
	}
	if result == porcupine.Ok {
		return
	}
	path := filepath.Join(t.TempDir(), "linearizability.html")
	if err := porcupine.VisualizePath(model, info, path); err != nil {
		t.Errorf("write visualisation: %v", err)
	}
	if dir := os.Getenv("PODLING_ARTIFACTS"); dir != "" {
		copyArtifact(t, path, dir)
	}
	t.Fatalf("task history is %s for linearizability; visualisation in %s, which is removed with the test's temp dir unless PODLING_ARTIFACTS names a dir to copy it to", result, path)
}

func copyArtifact(t *testing.T, path, dir string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	target := filepath.Join(dir, t.Name()+"-"+filepath.Base(path))
	if err == nil {
		err = os.WriteFile(target, data, 0o644)
	}
	if err != nil {
		t.Errorf("copy %s to %s: %v", path, dir, err)
		return
	}
	t.Logf("visualisation copied to %s", target)
}

func TestTaskModel_RejectsStaleRead(t *testing.T) {
	id := "20250119123456-abc12345"
	ops := []porcupine.Operation{
		{ClientId: 0, Input: taskInput{Kind: opCreate, TaskID: id}, Call: 0, Output: taskOutput{Status: types.TaskPending}, Return: 1},
		{ClientId: 0, Input: taskInput{Kind: opUpdate, TaskID: id, Status: types.TaskFailed}, Call: 2, Output: taskOutput{Status: types.TaskFailed}, Return: 3},
		{ClientId: 1, Input: taskInput{Kind: opRead, TaskID: id}, Call: 4, Output: taskOutput{Status: types.TaskScheduled}, Return: 5},
	}
	if porcupine.CheckOperations(taskModel.ToModel(), ops) {
		t.Error("a read of scheduled after an acknowledged failed report passed the check")
	}
}

func TestTaskModel_AllowsSchedulingAndUnknownReports(t *testing.T) {
	id := "20250119123456-abc12345"
	ops := []porcupine.Operation{
		{ClientId: 0, Input: taskInput{Kind: opCreate, TaskID: id}, Call: 0, Output: taskOutput{Status: types.TaskPending}, Return: 1},
		// The scheduler placed the task between the create and this read.
		{ClientId: 1, Input: taskInput{Kind: opRead, TaskID: id}, Call: 2, Output: taskOutput{Status: types.TaskScheduled}, Return: 3},
		// A report whose response was lost, applied before the next read.
		{ClientId: 0, Input: taskInput{Kind: opUpdate, TaskID: id, Status: types.TaskRunning}, Call: 4, Output: taskOutput{Unknown: true}, Return: math.MaxInt64},
		{ClientId: 1, Input: taskInput{Kind: opRead, TaskID: id}, Call: 6, Output: taskOutput{Status: types.TaskRunning}, Return: 7},
		{ClientId: 1, Input: taskInput{Kind: opUpdate, TaskID: id, Status: types.TaskCompleted}, Call: 8, Output: taskOutput{Status: types.TaskCompleted}, Return: 9},
		{ClientId: 1, Input: taskInput{Kind: opUpdate, TaskID: id, Status: types.TaskFailed}, Call: 10, Output: taskOutput{Illegal: true}, Return: 11},
	}
	if !porcupine.CheckOperations(taskModel.ToModel(), ops) {
		t.Error("a linearizable history failed the check")
	}
}

func TestApplyReport_FollowsLifecycle(t *testing.T) {
	tests := []struct {
		current, reported, want types.TaskStatus
		accepted                bool
	}{
		{types.TaskPending, types.TaskRunning, types.TaskPending, false},
		{types.TaskPending, types.TaskFailed, types.TaskFailed, true},
		{types.TaskScheduled, types.TaskRunning, types.TaskRunning, true},
		{types.TaskScheduled, types.TaskCompleted, types.TaskScheduled, false},
		{types.TaskRunning, types.TaskCompleted, types.TaskCompleted, true},
		{types.TaskRunning, types.TaskRunning, types.TaskRunning, true},
		{types.TaskCompleted, types.TaskRunning, types.TaskCompleted, true},
		{types.TaskCompleted, types.TaskFailed, types.TaskCompleted, false},
		{types.TaskFailed, types.TaskFailed, types.TaskFailed, true},
	}
	for _, tt := range tests {
		got, accepted := applyReport(tt.current, tt.reported)
		if got != tt.want || accepted != tt.accepted {
			t.Errorf("applyReport(%s, %s) = %s, %v; want %s, %v", tt.current, tt.reported, got, accepted, tt.want, tt.accepted)
		}
	}
}
