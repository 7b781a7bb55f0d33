package chaos

import (
	"context"
	"errors"
	"net/http"
	"testing"
)

func TestStateHash_IgnoresOrderOfTasksAndKeys(t *testing.T) {
	a := `[{"taskId":"1","status":"completed"},{"taskId":"2","name":"x"}]`
	b := `[{"name":"x","taskId":"2"},{"status":"completed","taskId":"1"}]`
	ha, err := stateHash([]byte(a))
	if err != nil {
		t.Fatal(err)
	}
	hb, err := stateHash([]byte(b))
	if err != nil {
		t.Fatal(err)
	}
	if ha != hb {
		t.Fatalf("hashes differ: %s %s", ha, hb)
	}
	hc, _ := stateHash([]byte(`[{"taskId":"1","status":"failed"},{"taskId":"2","name":"x"}]`))
	if hc == ha {
		t.Fatal("a changed status kept the hash")
	}
}

func TestParseListing_KeysAndIndex(t *testing.T) {
	body := `[{"taskId":"1","labels":{"chaos-key":"k1"}},{"taskId":"2","labels":{"chaos-key":"k1"}},{"taskId":"3"}]`
	header := http.Header{"X-Podling-Index": {"42"}}
	l, err := parseListing([]byte(body), header)
	if err != nil {
		t.Fatal(err)
	}
	ids, twice := l.keys()
	if l.index != 42 || len(ids) != 1 || len(twice) != 1 || twice[0] != "k1" {
		t.Fatalf("index %d, ids %v, twice %v", l.index, ids, twice)
	}
}

func TestFailureKind(t *testing.T) {
	cases := map[string]error{
		"HTTP 503 no_leader": &statusError{code: 503, body: `{"error":"x","code":"no_leader"}`},
		"HTTP 503":           &statusError{code: 503, body: "<html>"},
		"timeout":            context.DeadlineExceeded,
		"connection error":   errors.New("refused"),
	}
	for want, err := range cases {
		if got := failureKind(err); got != want {
			t.Errorf("failureKind(%v) = %q, want %q", err, got, want)
		}
	}
}

func TestStatusError_Rejected(t *testing.T) {
	for code, want := range map[int]bool{400: true, 422: true, 408: false, 429: false, 503: false} {
		if got := (&statusError{code: code}).rejected(); got != want {
			t.Errorf("rejected(%d) = %t, want %t", code, got, want)
		}
	}
}
