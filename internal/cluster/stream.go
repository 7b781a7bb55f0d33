package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// ErrLinkCut: the link between two masters is cut, so they cannot connect.
var ErrLinkCut = errors.New("link between masters is cut")

// Network carries the traffic between masters that run in one process over
// TCP, and can cut the link between any two of them. A cut link fails every
// new connection between the two as a failed dial would, and closes the
// connections already open between them. Healing the link lets them
// connect again. Tests use it to partition a cluster. A master configured
// without a Network uses plain TCP.
//
// Masters are known by their IDs. A master's Raft listen address is
// registered under its ID when its transport opens, and other addresses,
// such as its API, with Register. Addresses are compared as written
// (host:port), and a connection to an address that nobody registered is
// never cut. Only connections opened through the Network are tracked, so a
// client that dials a master directly always reaches it.
type Network struct {
	mu     sync.Mutex
	owners map[string]string // listen address -> master ID
	cut    map[link]bool
	conns  map[*trackedConn]struct{} // connections opened by Dial, open now
}

// link is an unordered pair of master IDs.
type link struct{ a, b string }

func newLink(a, b string) link {
	if b < a {
		a, b = b, a
	}
	return link{a: a, b: b}
}

// NewNetwork returns a network on which every link is up.
func NewNetwork() *Network {
	return &Network{owners: map[string]string{}, cut: map[link]bool{}, conns: map[*trackedConn]struct{}{}}
}

// Register records that the master with the given ID listens on addrs.
func (nw *Network) Register(id string, addrs ...string) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	for _, addr := range addrs {
		nw.owners[addr] = id
	}
}

// Cut cuts the link between masters a and b and closes the connections
// open between them.
func (nw *Network) Cut(a, b string) {
	nw.mu.Lock()
	nw.cut[newLink(a, b)] = true
	var doomed []*trackedConn
	for c := range nw.conns {
		if newLink(c.from, c.to) == newLink(a, b) {
			doomed = append(doomed, c)
		}
	}
	nw.mu.Unlock()
	// Close outside the lock, because closing removes the connection from
	// the set under the same lock.
	for _, c := range doomed {
		_ = c.Close()
	}
}

// Heal restores the link between masters a and b.
func (nw *Network) Heal(a, b string) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	delete(nw.cut, newLink(a, b))
}

// HealAll restores every link.
func (nw *Network) HealAll() {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	clear(nw.cut)
}

// Linked reports whether masters a and b may connect to each other.
func (nw *Network) Linked(a, b string) bool {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	return nw.linkedLocked(a, b)
}

func (nw *Network) linkedLocked(a, b string) bool {
	return a == "" || b == "" || a == b || !nw.cut[newLink(a, b)]
}

// Dialer returns a dial function for the connections that master from
// opens, in the form http.Transport.DialContext takes.
func (nw *Network) Dialer(from string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := nw.dial(ctx, from, network, addr, nil)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
}

// dial connects master from to addr unless their link is cut, and tracks
// the connection in stream too when stream is not nil. Refusals are
// *net.OpError values with Op "dial", like a refused TCP connection, so
// callers that tell an undelivered request from a lost one by the failed
// dial treat both alike.
func (nw *Network) dial(ctx context.Context, from, network, addr string, stream *streamLayer) (*trackedConn, error) {
	to := nw.owner(addr)
	rejected := &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf("%s to %s at %s: %w", from, to, addr, ErrLinkCut)}
	if !nw.Linked(from, to) {
		return nil, rejected
	}
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	c := &trackedConn{Conn: conn, network: nw, stream: stream, from: from, to: to}
	if stream != nil && !stream.add(c) {
		_ = conn.Close()
		return nil, fmt.Errorf("dial %s from a closed stream layer: %w", addr, net.ErrClosed)
	}
	// The link may have been cut while the dial was in progress, and Cut
	// only closes the connections it finds in the set.
	nw.mu.Lock()
	if !nw.linkedLocked(from, to) {
		nw.mu.Unlock()
		_ = c.Close()
		return nil, rejected
	}
	nw.conns[c] = struct{}{}
	nw.mu.Unlock()
	return c, nil
}

func (nw *Network) owner(addr string) string {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	return nw.owners[addr]
}

func (nw *Network) forget(c *trackedConn) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	delete(nw.conns, c)
}

// trackedConn is a connection opened through a Network. Closing it removes
// it from the network and from the stream layer that made it, if any.
type trackedConn struct {
	net.Conn
	network  *Network
	stream   *streamLayer
	from, to string // empty for an accepted connection
	once     sync.Once
	err      error
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.network.forget(c)
		if c.stream != nil {
			c.stream.forget(c)
		}
		c.err = c.Conn.Close()
	})
	return c.err
}

// streamLayer is a raft.StreamLayer on a Network. Closing it closes its
// listener and every connection it dialed or accepted, as the end of a
// process would, so a stopped master keeps no half-open Raft streams.
type streamLayer struct {
	network   *Network
	id        string
	listener  net.Listener
	advertise net.Addr

	mu     sync.Mutex
	closed bool
	conns  map[*trackedConn]struct{}
}

var _ raft.StreamLayer = (*streamLayer)(nil)

// listen opens the Raft listener of master id on bindAddr and registers
// both bindAddr and the advertised address under id.
func (nw *Network) listen(id, bindAddr string, advertise net.Addr) (*streamLayer, error) {
	ln, err := net.Listen("tcp", bindAddr)
	if err != nil {
		return nil, err
	}
	nw.Register(id, bindAddr, ln.Addr().String(), advertise.String())
	return &streamLayer{network: nw, id: id, listener: ln, advertise: advertise, conns: map[*trackedConn]struct{}{}}, nil
}

func (s *streamLayer) Accept() (net.Conn, error) {
	conn, err := s.listener.Accept()
	if err != nil {
		return nil, err
	}
	c := &trackedConn{Conn: conn, network: s.network, stream: s}
	if !s.add(c) {
		_ = conn.Close()
		return nil, fmt.Errorf("accept on %s: %w", s.advertise, net.ErrClosed)
	}
	return c, nil
}

func (s *streamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := s.network.dial(ctx, s.id, "tcp", string(address), s)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// add tracks c, unless the stream layer is closed.
func (s *streamLayer) add(c *trackedConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *streamLayer) forget(c *trackedConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
}

func (s *streamLayer) Close() error {
	s.mu.Lock()
	s.closed = true
	conns := make([]*trackedConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	err := s.listener.Close()
	for _, c := range conns {
		_ = c.Close()
	}
	return err
}

func (s *streamLayer) Addr() net.Addr { return s.advertise }

// newTransport returns the Raft transport: plain TCP, or a stream layer on
// cfg.Network when one is set.
func newTransport(cfg Config, advertise net.Addr, logger hclog.Logger) (*raft.NetworkTransport, error) {
	const maxPool, timeout = 3, 10 * time.Second
	if cfg.Network == nil {
		return raft.NewTCPTransportWithLogger(cfg.BindAddr, advertise, maxPool, timeout, logger)
	}
	stream, err := cfg.Network.listen(cfg.ID, cfg.BindAddr, advertise)
	if err != nil {
		return nil, err
	}
	return raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: stream, MaxPool: maxPool, Timeout: timeout, Logger: logger,
	}), nil
}
