package testutil

import "testing"

func TestFreeAddr_NeverRepeatsAnAddress(t *testing.T) {
	seen := map[string]bool{}
	for range 500 {
		addr := FreeAddr(t)
		if seen[addr] {
			t.Fatalf("FreeAddr: expected a new address, got %s twice", addr)
		}
		seen[addr] = true
	}
}
