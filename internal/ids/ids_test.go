package ids

import (
	"testing"
	"time"
)

func TestNew_FormAndTime(t *testing.T) {
	now := time.Date(2025, 1, 19, 12, 34, 56, 0, time.FixedZone("CET", 3600))
	id := New(now)
	if !ValidObject(id) {
		t.Fatalf("New returned %q, which ValidObject rejects", id)
	}
	if got, want := id[:14], "20250119113456"; got != want {
		t.Errorf("ID time part = %s, want the UTC time %s", got, want)
	}
	if New(now) == id {
		t.Error("two IDs minted in the same second are equal")
	}
}

func TestValidObject(t *testing.T) {
	for id, want := range map[string]bool{
		"20250119123456-abc12345":  true,
		"20250119123456-ABC12345":  false,
		"20250119123456-abc1234":   false,
		"2025011912345-abc12345":   false,
		"20250119123456-abc12345/": false,
		"../etc/passwd":            false,
		"":                         false,
	} {
		if got := ValidObject(id); got != want {
			t.Errorf("ValidObject(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestValidNode(t *testing.T) {
	for id, want := range map[string]bool{
		"worker-1":               true,
		"host.example":           true,
		"w_2":                    true,
		"-leading":               false,
		"has space":              false,
		"a/b":                    false,
		"":                       false,
		string(make([]byte, 64)): false,
	} {
		if got := ValidNode(id); got != want {
			t.Errorf("ValidNode(%q) = %v, want %v", id, got, want)
		}
	}
}
