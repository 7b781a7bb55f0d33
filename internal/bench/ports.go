package bench

import (
	"errors"
	"math/rand/v2"
	"net"
	"strconv"
)

// Ports are picked below Linux's default ephemeral range (32768-60999), so
// an outgoing connection cannot take a port between the moment it is picked
// and the moment a server binds it.
const (
	minPort = 20000
	maxPort = 32000
)

// freeAddr returns a loopback host:port that was free when checked.
func freeAddr() (string, error) {
	for range 100 {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(minPort+rand.IntN(maxPort-minPort)))
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			_ = ln.Close()
			return addr, nil
		}
	}
	return "", errors.New("no free loopback port found in 100 tries")
}
