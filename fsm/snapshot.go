package fsm

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/hashicorp/raft"

	"github.com/podling/podling/internal/types"
)

// SnapshotVersion is the format version written into every snapshot.
// Restore accepts versions up to it.
const SnapshotVersion = 1

// snapshotData is the serialized form of the whole state.
type snapshotData struct {
	Version      int                  `json:"version"`
	AppliedIndex uint64               `json:"appliedIndex"`
	Tasks        []*types.Task        `json:"tasks"`
	Nodes        []*types.Node        `json:"nodes"`
	Pods         []*types.Pod         `json:"pods,omitempty"`
	Services     []*types.Service     `json:"services,omitempty"`
	Idempotency  []*idempotencyRecord `json:"idempotency,omitempty"`
	Leaders      []types.LeaderChange `json:"leaders,omitempty"`
	Masters      map[string]string    `json:"masters"`
}

// Snapshot implements raft.FSM. It copies only pointers, because stored
// objects are never changed in place, and leaves the encoding to Persist.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	data := &snapshotData{
		Version:      SnapshotVersion,
		AppliedIndex: f.appliedIndex,
		Tasks:        make([]*types.Task, 0, len(f.taskOrder)),
		Nodes:        make([]*types.Node, 0, len(f.nodes)),
		Masters:      make(map[string]string, len(f.masters)),
	}
	for _, id := range f.taskOrder {
		data.Tasks = append(data.Tasks, f.tasks[id])
	}
	for _, n := range f.nodes {
		data.Nodes = append(data.Nodes, n)
	}
	slices.SortFunc(data.Nodes, func(a, b *types.Node) int { return strings.Compare(a.NodeID, b.NodeID) })
	for id, addr := range f.masters {
		data.Masters[id] = addr
	}
	f.podOrder.each(func(id string) { data.Pods = append(data.Pods, f.pods[id]) })
	f.serviceOrder.each(func(id string) { data.Services = append(data.Services, f.services[id]) })
	data.Idempotency = append([]*idempotencyRecord(nil), f.idempotencyOrder...)
	data.Leaders = append([]types.LeaderChange(nil), f.leaders...)
	return data, nil
}

// Persist implements raft.FSMSnapshot.
func (s *snapshotData) Persist(sink raft.SnapshotSink) error {
	if err := s.encode(sink); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("write snapshot: %w", err)
	}
	return sink.Close()
}

// Release implements raft.FSMSnapshot.
func (s *snapshotData) Release() {}

// encode writes s to dst as json.Encoder would: same keys, order, omitted
// empty lists and final newline. It encodes one object at a time, so it
// needs memory for the largest object, not for the whole document.
func (s *snapshotData) encode(dst io.Writer) error {
	writer := &jsonWriter{out: bufio.NewWriterSize(dst, 64<<10)}
	writer.encoder = json.NewEncoder(&writer.scratch)
	writer.literal(`{"version":`)
	writer.value(s.Version)
	writer.literal(`,"appliedIndex":`)
	writer.value(s.AppliedIndex)
	writeList(writer, "tasks", s.Tasks, false)
	writeList(writer, "nodes", s.Nodes, false)
	writeList(writer, "pods", s.Pods, true)
	writeList(writer, "services", s.Services, true)
	writeList(writer, "idempotency", s.Idempotency, true)
	writeList(writer, "leaders", s.Leaders, true)
	writer.literal(`,"masters":`)
	writer.value(s.Masters)
	writer.literal("}\n")
	if writer.err != nil {
		return writer.err
	}
	return writer.out.Flush()
}

// jsonWriter is a buffered JSON output that keeps its first error and
// writes nothing after it.
type jsonWriter struct {
	out     *bufio.Writer
	encoder *json.Encoder // writes into scratch, which each value reuses
	scratch bytes.Buffer
	err     error
}

// literal writes text, which must already be JSON, unchanged.
func (w *jsonWriter) literal(text string) {
	if w.err == nil {
		_, w.err = w.out.WriteString(text)
	}
}

// value writes the JSON encoding of v, escaped as json.Marshal escapes it.
func (w *jsonWriter) value(v any) {
	if w.err != nil {
		return
	}
	w.scratch.Reset()
	if w.err = w.encoder.Encode(v); w.err != nil {
		return
	}
	// Encode appends a newline to every value, which the document must not
	// contain in the middle of the object.
	_, w.err = w.out.Write(bytes.TrimSuffix(w.scratch.Bytes(), []byte("\n")))
}

// writeList writes key and list as a JSON array, one element at a time.
// A nil list is null, and omitEmpty leaves out an empty list as the
// omitempty tag option does.
func writeList[T any](w *jsonWriter, key string, list []T, omitEmpty bool) {
	if omitEmpty && len(list) == 0 {
		return
	}
	w.literal(`,"` + key + `":`)
	if list == nil {
		w.literal("null")
		return
	}
	w.literal("[")
	for i, v := range list {
		if i > 0 {
			w.literal(",")
		}
		w.value(v)
	}
	w.literal("]")
}

// readSnapshot decodes and checks a whole snapshot before any state is
// touched, so a damaged snapshot leaves the state as it was. It decodes one
// list element at a time, so it never keeps the whole document in memory.
func readSnapshot(r io.Reader) (*snapshotData, error) {
	data, err := decodeSnapshot(json.NewDecoder(r))
	if err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	if data.Version < 1 || data.Version > SnapshotVersion {
		return nil, fmt.Errorf("read snapshot: format version %d, this master reads up to %d", data.Version, SnapshotVersion)
	}
	seen := make(map[string]bool, len(data.Tasks))
	for i, t := range data.Tasks {
		if t == nil || t.TaskID == "" || seen[t.TaskID] {
			return nil, fmt.Errorf("read snapshot: task %d is empty, has no ID or repeats an ID", i)
		}
		seen[t.TaskID] = true
	}
	for i, n := range data.Nodes {
		if n == nil || n.NodeID == "" {
			return nil, fmt.Errorf("read snapshot: node %d is empty or has no ID", i)
		}
	}
	return data, checkPodsAndServices(data)
}

// snapshotFields lists the keys of the top-level object in the order the
// snapshot writes them.
var snapshotFields = []string{"version", "appliedIndex", "tasks", "nodes", "pods", "services", "idempotency", "leaders", "masters"}

// decodeSnapshot decodes one top-level object followed by the end of the
// input. Like json.Unmarshal, it matches keys in any case and skips unknown
// keys, but it rejects a repeated key.
func decodeSnapshot(decoder *json.Decoder) (*snapshotData, error) {
	if err := expectDelim(decoder, '{'); err != nil {
		return nil, err
	}
	var data snapshotData
	seen := make(map[string]bool)
	for decoder.More() {
		token, err := decoder.Token()
		if err != nil {
			return nil, unexpectedEOF(err)
		}
		key, ok := token.(string)
		if !ok {
			return nil, fmt.Errorf("expected a key, got %v", token)
		}
		field := key
		if i := slices.IndexFunc(snapshotFields, func(name string) bool { return strings.EqualFold(name, key) }); i >= 0 {
			field = snapshotFields[i]
		}
		if seen[field] {
			return nil, fmt.Errorf("duplicate key %q", key)
		}
		seen[field] = true
		if err := decodeField(decoder, &data, field); err != nil {
			return nil, fmt.Errorf("%s: %w", field, unexpectedEOF(err))
		}
	}
	if err := expectDelim(decoder, '}'); err != nil {
		return nil, err
	}
	if _, err := decoder.Token(); err != io.EOF {
		return nil, fmt.Errorf("unexpected data after the state")
	}
	return &data, nil
}

// decodeField decodes the value of the top-level key field into data, and
// skips the value of an unknown key.
func decodeField(decoder *json.Decoder, data *snapshotData, field string) error {
	switch field {
	case "version":
		return decoder.Decode(&data.Version)
	case "appliedIndex":
		return decoder.Decode(&data.AppliedIndex)
	case "tasks":
		return decodeList(decoder, &data.Tasks)
	case "nodes":
		return decodeList(decoder, &data.Nodes)
	case "pods":
		return decodeList(decoder, &data.Pods)
	case "services":
		return decodeList(decoder, &data.Services)
	case "idempotency":
		return decodeList(decoder, &data.Idempotency)
	case "leaders":
		return decodeList(decoder, &data.Leaders)
	case "masters":
		return decoder.Decode(&data.Masters)
	}
	var skipped json.RawMessage
	return decoder.Decode(&skipped)
}

// decodeList decodes a JSON array into list one element at a time. A null
// leaves list nil.
func decodeList[T any](decoder *json.Decoder, list *[]T) error {
	token, err := decoder.Token()
	if err != nil {
		return err
	}
	if token == nil {
		*list = nil
		return nil
	}
	if token != json.Delim('[') {
		return fmt.Errorf("expected an array, got %v", token)
	}
	// One variable serves every element, so it is allocated once. It is
	// cleared each time, because Decode reuses the object a pointer points to.
	var element, zero T
	for decoder.More() {
		element = zero
		if err := decoder.Decode(&element); err != nil {
			return err
		}
		*list = append(*list, element)
	}
	return expectDelim(decoder, ']')
}

// expectDelim reads the next token and returns an error unless it is want.
func expectDelim(decoder *json.Decoder, want json.Delim) error {
	token, err := decoder.Token()
	if err != nil {
		return unexpectedEOF(err)
	}
	if token != want {
		return fmt.Errorf("expected %v, got %v", want, token)
	}
	return nil
}

// unexpectedEOF returns io.ErrUnexpectedEOF for io.EOF, because an input
// that ends inside the object was cut short.
func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// checkPodsAndServices rejects empty entries and repeated IDs. Pod IDs and
// service IDs are checked apart, because Apply lets a pod and a service
// share an ID.
func checkPodsAndServices(data *snapshotData) error {
	for i, rec := range data.Idempotency {
		if rec == nil || rec.Key == "" || rec.ObjectID == "" {
			return fmt.Errorf("read snapshot: idempotency record %d is empty", i)
		}
	}
	pods := make(map[string]bool, 2*len(data.Pods))
	for i, p := range data.Pods {
		if p == nil {
			return fmt.Errorf("read snapshot: pod %d is empty", i)
		}
		name := "name " + qualifiedName(p.Namespace, p.Name)
		if p.PodID == "" || pods[p.PodID] || pods[name] {
			return fmt.Errorf("read snapshot: pod %d is empty, has no ID, or repeats an ID or a name", i)
		}
		pods[p.PodID], pods[name] = true, true
	}
	services := make(map[string]bool, 2*len(data.Services))
	for i, s := range data.Services {
		if s == nil {
			return fmt.Errorf("read snapshot: service %d is empty", i)
		}
		name := "name " + qualifiedName(s.Namespace, s.Name)
		if s.ServiceID == "" || services[s.ServiceID] || services[name] {
			return fmt.Errorf("read snapshot: service %d is empty, has no ID, or repeats an ID or a name", i)
		}
		services[s.ServiceID], services[name] = true, true
	}
	return nil
}

// Restore implements raft.FSM. It replaces the whole state with the
// snapshot's, and leaves the state unchanged if the snapshot is unreadable.
//
// If rc contains exactly the bytes given to PrepareRestore, Restore
// installs the state PrepareRestore decoded. Any Restore drops it.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	data, err := f.readRestore(rc)
	if err != nil {
		return err
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	f.resetLocked()
	for _, t := range data.Tasks {
		f.addTaskLocked(t)
	}
	for _, n := range data.Nodes {
		f.nodes[n.NodeID] = n
	}
	for _, p := range data.Pods {
		f.storePodLocked(p, p)
		f.podOrder.add(p.PodID)
		if p.Status == types.PodPending {
			f.pendingPods.add(p.PodID)
		}
		f.podNames[qualifiedName(p.Namespace, p.Name)] = p.PodID
	}
	for _, s := range data.Services {
		f.services[s.ServiceID] = s
		f.serviceOrder.add(s.ServiceID)
		f.serviceNames[qualifiedName(s.Namespace, s.Name)] = s.ServiceID
	}
	for id, addr := range data.Masters {
		f.masters[id] = addr
	}
	for _, rec := range data.Idempotency {
		f.idempotency[rec.Key] = rec
		f.idempotencyOrder = append(f.idempotencyOrder, rec)
	}
	f.leaders = data.Leaders
	f.notifyLocked(data.AppliedIndex)
	return nil
}

// ErrInvalidSnapshot: the snapshot given to CheckSnapshot or
// PrepareRestore is damaged, of an unknown version, or inconsistent, so
// Restore would reject it.
var ErrInvalidSnapshot = errors.New("invalid snapshot")

// CheckSnapshot reads a whole snapshot and reports whether Restore would
// accept it, without touching any state. Its error matches
// ErrInvalidSnapshot, unless reading r failed.
func CheckSnapshot(r io.Reader) error {
	if _, err := readSnapshot(r); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidSnapshot, err)
	}
	return nil
}

// preparedRestore is a snapshot and its decoded state.
type preparedRestore struct {
	raw  []byte
	data *snapshotData
}

// PrepareRestore checks data as CheckSnapshot does and keeps the decoded
// state, which the next Restore installs if it reads exactly these bytes.
// This lets a restore through Raft, which must check the snapshot before
// Raft stores it, decode it only once.
//
// The caller must not change data until it calls drop, and must call drop
// once the restore is over, even if it failed before reaching Restore, so
// the decoded state is freed. A later PrepareRestore replaces this one,
// and drop then leaves the later one in place.
func (f *FSM) PrepareRestore(data []byte) (drop func(), err error) {
	decoded, err := readSnapshot(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidSnapshot, err)
	}
	prepared := &preparedRestore{raw: data, data: decoded}
	f.preparedMu.Lock()
	f.prepared = prepared
	f.preparedMu.Unlock()
	return func() {
		f.preparedMu.Lock()
		defer f.preparedMu.Unlock()
		if f.prepared == prepared {
			f.prepared = nil
		}
	}, nil
}

// readRestore takes the prepared snapshot, if any, and returns its decoded
// state when r contains the same bytes. Otherwise it decodes r.
func (f *FSM) readRestore(r io.Reader) (*snapshotData, error) {
	f.preparedMu.Lock()
	prepared := f.prepared
	f.prepared = nil
	f.preparedMu.Unlock()
	if prepared == nil {
		return readSnapshot(r)
	}
	same, all, err := readSame(r, prepared.raw)
	if err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	if same {
		return prepared.data, nil
	}
	return readSnapshot(all)
}

// readSame reads r to its end and reports whether it contained exactly
// want. At the first difference it stops, and all reads r from its start.
func readSame(r io.Reader, want []byte) (same bool, all io.Reader, err error) {
	chunk := make([]byte, 64<<10)
	matched := 0
	for {
		n, err := r.Read(chunk)
		if n > len(want)-matched || !bytes.Equal(chunk[:n], want[matched:matched+n]) {
			read := io.MultiReader(bytes.NewReader(want[:matched]), bytes.NewReader(chunk[:n]))
			switch {
			case err == io.EOF:
				return false, read, nil
			case err != nil:
				return false, nil, err
			}
			return false, io.MultiReader(read, r), nil
		}
		matched += n
		switch {
		case err == io.EOF:
			return matched == len(want), bytes.NewReader(want[:matched]), nil
		case err != nil:
			return false, nil, err
		}
	}
}

// WriteSnapshot writes the whole state in the snapshot format to w, for a
// backup that Restore, or a cluster's restore endpoint, reads back.
func (f *FSM) WriteSnapshot(w io.Writer) error {
	snap, err := f.Snapshot()
	if err != nil {
		return err
	}
	defer snap.Release()
	if err := snap.(*snapshotData).encode(w); err != nil {
		return fmt.Errorf("write snapshot: %w", err)
	}
	return nil
}
