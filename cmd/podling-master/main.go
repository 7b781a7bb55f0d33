// Command podling-master runs one replica of the Podling control plane.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/podling/podling/internal/auth"
	"github.com/podling/podling/internal/cluster"
	"github.com/podling/podling/internal/flagenv"
	"github.com/podling/podling/internal/ids"
	"github.com/podling/podling/internal/logging"
	"github.com/podling/podling/internal/master"
)

func main() {
	command := run
	if len(os.Args) > 1 && os.Args[1] == "token" {
		command = func(args []string) error { return runToken(args[1:]) }
	}
	if err := command(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "podling-master:", err)
		os.Exit(1)
	}
}

type options struct {
	id, httpAddr, advertiseHTTP, raftAddr, raftAdvertise string
	dataDir, peers, join, jwtSecretFile, logLevel        string
	jwtAudience, tlsCertFile, tlsKeyFile, caFile         string
	heartbeatTTL                                         time.Duration
	logJSON                                              bool
}

func parseFlags(args []string) (options, error) {
	host, _ := os.Hostname()
	var o options
	fs := flag.NewFlagSet("podling-master", flag.ContinueOnError)
	fs.StringVar(&o.id, "id", host, "this master's Raft server ID")
	fs.StringVar(&o.httpAddr, "http-addr", ":8070", "REST API listen address")
	fs.StringVar(&o.advertiseHTTP, "advertise-http", "", "API URL other masters forward to (default derived from -http-addr)")
	fs.StringVar(&o.raftAddr, "raft-addr", ":7000", "Raft listen address, also advertised unless -raft-advertise is set")
	fs.StringVar(&o.raftAdvertise, "raft-advertise", "", "Raft address other masters dial")
	fs.StringVar(&o.dataDir, "data-dir", "", "directory for the Raft log, stable store and snapshots (default ./data/<id>)")
	fs.StringVar(&o.peers, "peers", "", "founding members as id=host:raftport,...; every founder gets the same list; empty means a single-node cluster")
	fs.StringVar(&o.join, "join", "", "API URL of a member of a running cluster to join")
	fs.StringVar(&o.jwtSecretFile, "jwt-secret-file", "", "file holding the HS256 secrets, one per line, the first signing; empty means authentication is off")
	fs.StringVar(&o.jwtAudience, "jwt-audience", "", "audience every token must name in its aud claim; empty accepts any")
	fs.StringVar(&o.tlsCertFile, "tls-cert-file", "", "PEM certificate to serve the API over TLS (with -tls-key-file)")
	fs.StringVar(&o.tlsKeyFile, "tls-key-file", "", "PEM private key of -tls-cert-file")
	fs.StringVar(&o.caFile, "ca-file", "", "PEM certificates to check other masters' TLS APIs against; empty means the system's")
	fs.DurationVar(&o.heartbeatTTL, "heartbeat-ttl", 15*time.Second, "silence after which a worker is declared lost")
	fs.StringVar(&o.logLevel, "log-level", "info", "log level: trace, debug, info, warn or error")
	fs.BoolVar(&o.logJSON, "log-json", false, "write logs as JSON")
	fs.Usage = flagenv.Usage(fs, "podling-master runs one replica of the Podling control plane.")
	if err := flagenv.Parse(fs, args); err != nil {
		return o, err
	}
	return o, o.check()
}

func (o *options) check() error {
	if o.id == "" {
		return errors.New("-id is required when the host name is unknown")
	}
	if !ids.ValidNode(o.id) {
		return fmt.Errorf("invalid -id %q: use 1 to 63 letters, digits, '.', '-' or '_', starting with a letter or digit", o.id)
	}
	if o.dataDir == "" {
		o.dataDir = filepath.Join("data", o.id)
	}
	if o.heartbeatTTL <= 0 {
		return fmt.Errorf("-heartbeat-ttl must be positive, got %s", o.heartbeatTTL)
	}
	if o.join != "" && o.peers != "" {
		return errors.New("-join and -peers exclude each other: founders share -peers, later masters -join")
	}
	return nil
}

func run(args []string) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	peers, err := cluster.ParsePeers(o.peers)
	if err != nil {
		return err
	}
	logger, err := logging.New("master", o.logLevel, o.logJSON)
	if err != nil {
		return err
	}
	logger = logger.With("master_id", o.id)

	var keys *auth.Keys
	if o.jwtSecretFile != "" {
		if keys, err = auth.LoadKeys(o.jwtSecretFile); err != nil {
			return err
		}
	}
	m, err := master.Start(master.Config{
		ID: o.id, HTTPAddr: o.httpAddr, AdvertiseHTTP: o.advertiseHTTP, RaftAddr: o.raftAddr,
		RaftAdvertise: o.raftAdvertise, DataDir: o.dataDir, Peers: peers, Join: o.join, HeartbeatTTL: o.heartbeatTTL,
		Keys: keys, Audience: o.jwtAudience, TLSCertFile: o.tlsCertFile, TLSKeyFile: o.tlsKeyFile, CAFile: o.caFile,
		Logger: logger,
	})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return m.Close(shutdownCtx)
}
