package client

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Response headers of the master API.
const (
	IndexHeader       = "X-Podling-Index"
	ServedByHeader    = "X-Podling-Served-By"
	LeaderHeader      = "X-Podling-Leader"
	LastContactHeader = "X-Podling-Last-Contact"
)

// Meta is the metadata of a response, taken from its headers.
type Meta struct {
	// Index is the Raft index a write committed at, or the index a read
	// was served at. Reading again with MinIndex: Index+1 waits for the
	// next change.
	Index uint64
	// ServedBy is the master that served the call; Leader the leader it
	// knew of.
	ServedBy string
	Leader   string
	// LastContact is, on stale and minIndex reads, how long ago the
	// serving master last heard from the leader, as a Go duration.
	LastContact string
}

func metaFrom(resp *http.Response) Meta {
	index, _ := strconv.ParseUint(resp.Header.Get(IndexHeader), 10, 64)
	return Meta{
		Index: index, ServedBy: resp.Header.Get(ServedByHeader),
		Leader: resp.Header.Get(LeaderHeader), LastContact: resp.Header.Get(LastContactHeader),
	}
}

// ReadOptions choose the consistency of a read. The zero value is a
// linearizable read.
type ReadOptions struct {
	// MinIndex, when set, lets any master serve its local copy once it
	// has applied this index, waiting up to 5 s for it.
	MinIndex uint64
	// Stale reads the local copy of whichever master responds, at once.
	Stale bool
}

func (o ReadOptions) addTo(q url.Values) {
	if o.MinIndex > 0 {
		q.Set("minIndex", strconv.FormatUint(o.MinIndex, 10))
	}
	if o.Stale {
		q.Set("stale", "true")
	}
}

// ListOptions filter a list. Empty fields do not filter.
type ListOptions struct {
	Namespace string
	// LabelSelector keeps the objects whose labels hold every pair.
	LabelSelector map[string]string
	// Status and NodeID filter tasks and pods only.
	Status string
	NodeID string
	ReadOptions
}

func (o ListOptions) query() url.Values {
	q := url.Values{}
	if o.Namespace != "" {
		q.Set("namespace", o.Namespace)
	}
	if selector := FormatSelector(o.LabelSelector); selector != "" {
		q.Set("labelSelector", selector)
	}
	if o.Status != "" {
		q.Set("status", o.Status)
	}
	if o.NodeID != "" {
		q.Set("nodeId", o.NodeID)
	}
	o.ReadOptions.addTo(q)
	return q
}

// FormatSelector returns labels as key=value pairs joined by commas,
// ordered by key.
func FormatSelector(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = k + "=" + labels[k]
	}
	return strings.Join(pairs, ",")
}

// LogOptions choose which log lines to read.
type LogOptions struct {
	// Container names the container of a pod; it may be left out when
	// the pod has one container. Tasks ignore it.
	Container string
	// Tail is the number of last lines, 1 to 10000; zero means the
	// master's default of 100.
	Tail int
	// Follow keeps the stream open until the container exits or the
	// caller closes it.
	Follow bool
}

func (o LogOptions) query() url.Values {
	q := url.Values{}
	if o.Container != "" {
		q.Set("container", o.Container)
	}
	if o.Tail > 0 {
		q.Set("tail", strconv.Itoa(o.Tail))
	}
	if o.Follow {
		q.Set("follow", "true")
	}
	return q
}

// newIdempotencyKey returns a random key for one create, sent on each of
// its tries so that a create retried on another master is made once.
func newIdempotencyKey() string {
	return "podling-" + rand.Text()
}
