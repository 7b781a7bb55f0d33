package chaos

import (
	"strings"
	"testing"
	"time"
)

func read(client int, call, ret int64, keys ...string) readOp {
	set := make(map[string]bool)
	for _, k := range keys {
		set[k] = true
	}
	return readOp{client: client, call: call, ret: ret, keys: set}
}

func acked(key string, call, ret int64) createOp {
	return createOp{key: key, call: call, ret: ret, lastTry: call, acked: true, taskID: "id-" + key}
}

func TestCheckLinearizable_AcceptsReadsAroundCreates(t *testing.T) {
	creates := []createOp{acked("a", 10, 20), acked("b", 30, 40)}
	reads := []readOp{
		read(2, 0, 5),
		read(2, 15, 18, "a"), // concurrent with the create of a
		read(3, 15, 18),      // also concurrent: may miss it
		read(2, 25, 28, "a"),
		read(2, 45, 50, "a", "b"),
	}
	final := map[string]bool{"a": true, "b": true}
	if err := checkLinearizable(creates, reads, final, time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestCheckLinearizable_RejectsStaleRead(t *testing.T) {
	creates := []createOp{acked("a", 10, 20)}
	reads := []readOp{read(2, 25, 28)} // began after the ack, yet missed it
	err := checkLinearizable(creates, reads, map[string]bool{"a": true}, time.Second)
	if err == nil || !strings.Contains(err.Error(), "key a") {
		t.Fatalf("got %v, want a failure naming key a", err)
	}
}

func TestCheckLinearizable_RejectsVanishingKey(t *testing.T) {
	creates := []createOp{acked("a", 10, 20)}
	reads := []readOp{read(2, 25, 28, "a"), read(2, 30, 35)}
	if err := checkLinearizable(creates, reads, map[string]bool{"a": true}, time.Second); err == nil {
		t.Fatal("a key read, then missed, passed")
	}
}

func TestCheckLinearizable_UnknownCreateTakesEffectLate(t *testing.T) {
	unknown := createOp{key: "a", call: 10}
	reads := []readOp{read(2, 20, 25), read(2, 100, 105, "a")}
	if err := checkLinearizable([]createOp{unknown}, reads, map[string]bool{"a": true}, time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestCheckLinearizable_UnknownCreateCannotPrecedeItsCall(t *testing.T) {
	unknown := createOp{key: "a", call: 10}
	reads := []readOp{read(2, 0, 5, "a")}
	if err := checkLinearizable([]createOp{unknown}, reads, map[string]bool{"a": true}, time.Second); err == nil {
		t.Fatal("a key read before its create was sent passed")
	}
}

func TestCheckLinearizable_ReadKeyMissingFromFinalState(t *testing.T) {
	unknown := createOp{key: "a", call: 10}
	reads := []readOp{read(2, 20, 25, "a")}
	err := checkLinearizable([]createOp{unknown}, reads, map[string]bool{}, time.Second)
	if err == nil || !strings.Contains(err.Error(), "gone from the final state") {
		t.Fatalf("got %v, want a key missing from the final state", err)
	}
}

func TestCheckLinearizable_KeyNeverSent(t *testing.T) {
	err := checkLinearizable(nil, []readOp{read(2, 20, 25, "x")}, map[string]bool{"x": true}, time.Second)
	if err == nil || !strings.Contains(err.Error(), "no create was sent") {
		t.Fatalf("got %v, want a key without a create", err)
	}
}

func TestFirstAnswerAfter(t *testing.T) {
	creates := []createOp{acked("a", 5, 8), acked("b", 12, 30), {key: "c", call: 11}}
	reads := []readOp{read(2, 9, 25), read(2, 14, 20)}
	got, ok := firstSuccessAfter(creates, reads, 10)
	if !ok || got != 10 {
		t.Fatalf("got %v %t, want 10ns", got, ok)
	}
	if _, ok := firstSuccessAfter(creates, reads, 40); ok {
		t.Fatal("found a success for a time after every request")
	}
}
