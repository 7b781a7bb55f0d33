package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Master is one podling-master process on loopback.
type Master struct {
	ID       string
	HTTPAddr string
	RaftAddr string
	DataDir  string
	LogPath  string
	args     []string
	cmd      *exec.Cmd
	exited   chan struct{}
}

// URL returns the master's API base URL.
func (m *Master) URL() string { return "http://" + m.HTTPAddr }

// PID returns the process ID of the running master.
func (m *Master) PID() int { return m.cmd.Process.Pid }

// Cluster is three podling-master processes founded together with -peers.
type Cluster struct {
	Name    string
	Masters []*Master
	bin     string
	client  *Client
}

// StartCluster starts three masters from bin, with data and logs under
// root/name, and waits until every one is ready.
func StartCluster(ctx context.Context, bin, root, name string, client *Client) (*Cluster, error) {
	c := &Cluster{Name: name, bin: bin, client: client}
	var peers []string
	for i := range 3 {
		httpAddr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		raftAddr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		id := fmt.Sprintf("m%d", i+1)
		dir := filepath.Join(root, name, id)
		c.Masters = append(c.Masters, &Master{ID: id, HTTPAddr: httpAddr, RaftAddr: raftAddr, DataDir: dir, LogPath: dir + ".log"})
		peers = append(peers, id+"="+raftAddr)
	}
	for _, m := range c.Masters {
		m.args = []string{
			"-id", m.ID, "-http-addr", m.HTTPAddr, "-advertise-http", m.URL(),
			"-raft-addr", m.RaftAddr, "-data-dir", m.DataDir, "-peers", strings.Join(peers, ","),
		}
		if err := c.start(m); err != nil {
			c.Stop()
			return nil, err
		}
	}
	if err := c.WaitReady(ctx, c.Masters...); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// start launches the master's process with its log appended to LogPath.
// The process gets SIGKILL if this program dies first.
func (c *Cluster) start(m *Master) error {
	if err := os.MkdirAll(filepath.Dir(m.LogPath), 0o750); err != nil {
		return fmt.Errorf("create log dir: %w", err)
	}
	logFile, err := os.OpenFile(m.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("open log of %s: %w", m.ID, err)
	}
	cmd := exec.Command(c.bin, m.args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return fmt.Errorf("start master %s: %w", m.ID, err)
	}
	m.cmd, m.exited = cmd, make(chan struct{})
	go func() {
		_ = cmd.Wait()
		_ = logFile.Close()
		close(m.exited)
	}()
	return nil
}

// Running reports whether the master's process is alive.
func (m *Master) Running() bool {
	if m.exited == nil {
		return false
	}
	select {
	case <-m.exited:
		return false
	default:
		return true
	}
}

// Kill sends SIGKILL to the master and waits for the process to end.
func (c *Cluster) Kill(m *Master) error {
	if err := m.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill master %s: %w", m.ID, err)
	}
	return m.waitExit(10 * time.Second)
}

func (m *Master) waitExit(limit time.Duration) error {
	select {
	case <-m.exited:
		return nil
	case <-time.After(limit):
		return fmt.Errorf("master %s (pid %d) still runs %s after the signal", m.ID, m.PID(), limit)
	}
}

// Restart starts a stopped master again with its data dir and waits until
// it is ready and has applied what the leader had.
func (c *Cluster) Restart(ctx context.Context, m *Master) error {
	if m.Running() {
		return fmt.Errorf("restart master %s: it is still running", m.ID)
	}
	if err := c.start(m); err != nil {
		return err
	}
	return c.WaitCaughtUp(ctx, m)
}

// Stop kills every master with SIGKILL and waits for the processes to
// end. The benchmark discards the data, so a graceful shutdown would only
// add time.
func (c *Cluster) Stop() {
	for _, m := range c.Masters {
		if m.Running() {
			_ = m.cmd.Process.Signal(syscall.SIGKILL)
		}
	}
	for _, m := range c.Masters {
		if m.exited != nil {
			_ = m.waitExit(10 * time.Second)
		}
	}
}

// LogTails returns the last lines of each master's log, for error reports.
func (c *Cluster) LogTails(lines int) string {
	var b strings.Builder
	for _, m := range c.Masters {
		data, err := os.ReadFile(m.LogPath)
		if err != nil {
			continue
		}
		all := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		fmt.Fprintf(&b, "--- %s/%s log, last %d lines\n%s\n", c.Name, m.ID, lines, strings.Join(all[max(0, len(all)-lines):], "\n"))
	}
	return b.String()
}
