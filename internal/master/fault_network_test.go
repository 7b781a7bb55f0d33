package master

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/podling/podling/internal/cluster"
	"github.com/podling/podling/internal/testutil"
)

// echoListener accepts connections on loopback and echoes what it reads,
// until the test ends.
func echoListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", testutil.FreeAddr(t))
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_, _ = io.Copy(conn, conn)
			}()
		}
	}()
	return ln.Addr().String()
}

func dialWithin(network *cluster.Network, from, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return network.Dialer(from)(ctx, "tcp", addr)
}

func TestNetwork_CutRejectsDialsAndClosesConnections(t *testing.T) {
	addr := echoListener(t)
	network := cluster.NewNetwork()
	network.Register("b", addr)

	open, err := dialWithin(network, "a", addr)
	if err != nil {
		t.Fatalf("dial a->b before the cut: %v", err)
	}
	defer open.Close()

	network.Cut("a", "b")
	if network.Linked("a", "b") || network.Linked("b", "a") {
		t.Error("Linked reports a cut link as up")
	}
	_ = open.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := open.Read(make([]byte, 1)); err == nil {
		t.Error("a connection open before the cut still reads after it")
	}

	_, err = dialWithin(network, "a", addr)
	var opErr *net.OpError
	if !errors.As(err, &opErr) || opErr.Op != "dial" || !errors.Is(err, cluster.ErrLinkCut) {
		t.Errorf("dial a->b across the cut: error %v, want a dial *net.OpError wrapping ErrLinkCut", err)
	}
	if conn, err := dialWithin(network, "c", addr); err != nil {
		t.Errorf("dial c->b, a link that is not cut: %v", err)
	} else {
		conn.Close()
	}
}

func TestNetwork_HealRestoresLink(t *testing.T) {
	addr := echoListener(t)
	network := cluster.NewNetwork()
	network.Register("b", addr)
	network.Cut("a", "b")
	network.Heal("b", "a")

	conn, err := dialWithin(network, "a", addr)
	if err != nil {
		t.Fatalf("dial a->b after healing: %v", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("x")); err != nil {
		t.Fatalf("write after healing: %v", err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.ReadFull(conn, make([]byte, 1)); err != nil {
		t.Errorf("read the echo after healing: %v", err)
	}
}

func TestNetwork_UnregisteredAddressNeverCut(t *testing.T) {
	addr := echoListener(t)
	network := cluster.NewNetwork()
	network.Cut("a", "b")
	conn, err := dialWithin(network, "a", addr)
	if err != nil {
		t.Fatalf("dial an address no master registered: %v", err)
	}
	conn.Close()
}

func TestFaultCluster_CutOffLeaderLosesLeadership(t *testing.T) {
	fc := startFaultCluster(t, 3)
	old, err := fc.cutLeaderOff()
	if err != nil {
		t.Fatal(err)
	}
	next, err := fc.leaderAmong(fc.others(old), leaderWait)
	if err != nil {
		t.Fatalf("majority after cutting off leader %s: %v", fc.ids[old], err)
	}

	// The old leader must not hear of the new one while cut off: neither
	// Raft nor the masters' HTTP calls cross the cut.
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if got := fc.masters[old].Cluster().Leader(); got == fc.ids[next] {
			t.Fatalf("cut-off master %s learned the new leader %s", fc.ids[old], got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if fc.masters[old].Cluster().IsLeader() {
		t.Errorf("cut-off master %s still believes it is the leader", fc.ids[old])
	}
	client := newTestClient(t, 10*time.Second)
	res, err := send(context.Background(), client, http.MethodGet, fc.urls[old]+"/health", nil, nil)
	if err != nil || res.status != http.StatusOK {
		t.Errorf("/health of the cut-off master from a client: status %d, error %v", res.status, err)
	}

	fc.heal()
	deadline = time.Now().Add(leaderWait)
	for fc.masters[old].Cluster().Leader() != fc.ids[next] {
		if time.Now().After(deadline) {
			t.Fatalf("master %s follows %q after healing, want %s", fc.ids[old], fc.masters[old].Cluster().Leader(), fc.ids[next])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
