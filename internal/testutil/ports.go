package testutil

import (
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
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

// handedOut records the ports FreeAddr returned in this process. A port is
// never returned twice, because a test may take several addresses before
// it binds any of them, and a second test may want the same port meanwhile.
var handedOut = struct {
	mu    sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// FreeAddr returns a loopback host:port that was free when checked and that
// this process has not handed out before. Use it where an address must be
// known before the server that binds it starts, such as the members of a
// Raft cluster.
func FreeAddr(t testing.TB) string {
	t.Helper()
	handedOut.mu.Lock()
	defer handedOut.mu.Unlock()
	for range 100 {
		port := minTestPort + rand.IntN(maxTestPort-minTestPort)
		if handedOut.ports[port] {
			continue
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			ln.Close()
			handedOut.ports[port] = true
			return addr
		}
	}
	t.Fatal("no free loopback port found in 100 tries")
	return ""
}
