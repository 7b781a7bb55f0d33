package testutil

import (
	"math/rand/v2"
	"net"
	"strconv"
	"testing"
)

// Ports handed out by FreeAddr lie below Linux's default ephemeral range
// (32768-60999), so an outgoing connection made by another server in the
// test cannot take a port between the moment it is picked and the moment
// the server under test binds it.
const (
	minTestPort = 20000
	maxTestPort = 32000
)

// FreeAddr returns a loopback host:port that was free when checked. Use it
// where an address must be known before the server that binds it starts,
// such as the members of a Raft cluster.
func FreeAddr(t testing.TB) string {
	t.Helper()
	for range 100 {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(minTestPort+rand.IntN(maxTestPort-minTestPort)))
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			ln.Close()
			return addr
		}
	}
	t.Fatal("no free loopback port found in 100 tries")
	return ""
}
