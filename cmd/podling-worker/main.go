// Command podling-worker runs the Podling worker agent on a Docker host: it
// registers with the masters, heartbeats to them, runs the tasks and pods
// they dispatch as Docker containers and reports their status.
//
// On SIGTERM or SIGINT the worker tells the masters it is leaving and
// exits, leaving its containers running. With -drain-on-exit it drains its
// node instead, so the masters move its pods elsewhere first. A second
// signal ends it at once.
//
// Every flag can also be set through the environment variable PODLING_ plus
// the flag name in upper snake case, so -node-id is PODLING_NODE_ID. A flag
// on the command line wins.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/podling/podling/internal/auth"
	"github.com/podling/podling/internal/flagenv"
	"github.com/podling/podling/internal/logging"
	"github.com/podling/podling/internal/metrics"
	"github.com/podling/podling/internal/runtime/docker"
	"github.com/podling/podling/internal/worker"
)

// defaultNetwork is the Docker network the worker attaches pods and tasks
// to unless -network names another.
const defaultNetwork = "podling"

type options struct {
	nodeID            string
	hostname          string
	port              int
	listenAddr        string
	masters           string
	heartbeatInterval time.Duration
	capacity          int
	tokenFile         string
	jwtSecretFile     string
	jwtAudience       string
	caFile            string
	pauseImage        string
	network           string
	hostPortIP        string
	stopGrace         time.Duration
	drainOnExit       bool
	logLevel          string
	logJSON           bool
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "podling-worker:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	opts, err := parseOptions(args)
	if err != nil {
		return err
	}
	logger, err := logging.New("worker", opts.logLevel, opts.logJSON)
	if err != nil {
		return err
	}
	cfg, err := workerConfig(opts, logger)
	if err != nil {
		return err
	}

	rt, err := docker.NewFromEnv(docker.Options{
		NodeID:     cfg.NodeID,
		Network:    opts.network,
		HostPortIP: opts.hostPortIP,
		Logger:     logger.Named("docker"),
	})
	if err != nil {
		return err
	}
	defer rt.Close()
	cfg.Runtime = rt
	w, err := worker.New(cfg)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first signal the worker leaves or drains; a second one
	// ends the process at once.
	context.AfterFunc(ctx, stop)
	return w.Run(ctx)
}

func parseOptions(args []string) (options, error) {
	host, _ := os.Hostname()
	var o options
	fs := flag.NewFlagSet("podling-worker", flag.ContinueOnError)
	fs.StringVar(&o.nodeID, "node-id", host, "stable node ID; registering again with it is idempotent")
	fs.StringVar(&o.hostname, "hostname", host, "host name masters use to reach this worker")
	fs.IntVar(&o.port, "port", worker.DefaultPort, "port masters use to reach this worker")
	fs.StringVar(&o.listenAddr, "listen-addr", "", "listen address of the worker API; empty means \":<port>\"")
	fs.StringVar(&o.masters, "masters", worker.DefaultMaster, "comma-separated master or load-balancer URLs, tried in turn")
	fs.DurationVar(&o.heartbeatInterval, "heartbeat-interval", worker.DefaultHeartbeatInterval, "time between heartbeats")
	fs.IntVar(&o.capacity, "capacity", worker.DefaultCapacity, "number of tasks this worker offers to run at once")
	fs.StringVar(&o.tokenFile, "token-file", "", "file holding the JWT presented to masters; empty sends none")
	fs.StringVar(&o.jwtSecretFile, "jwt-secret-file", "", "the masters' HS256 secret file; when set, the worker API accepts only calls with a valid admin token")
	fs.StringVar(&o.jwtAudience, "jwt-audience", "", "audience tokens must name, as on the masters")
	fs.StringVar(&o.caFile, "ca-file", "", "PEM certificates to check masters' TLS APIs against; empty means the system's")
	fs.StringVar(&o.pauseImage, "pause-image", worker.DefaultPauseImage, "image of each pod's sandbox container (make images builds the default)")
	fs.StringVar(&o.network, "network", defaultNetwork, "Docker bridge network for pods and tasks, created if missing")
	fs.StringVar(&o.hostPortIP, "host-port-ip", "", "host address that pod host ports are published on; empty means every address")
	fs.DurationVar(&o.stopGrace, "stop-grace", worker.DefaultStopGrace, "time a pod container gets between SIGTERM and SIGKILL when stopped")
	fs.BoolVar(&o.drainOnExit, "drain-on-exit", false, "on SIGTERM, drain the node so the masters move its pods, instead of only leaving the cluster")
	fs.StringVar(&o.logLevel, "log-level", "info", "log level: trace, debug, info, warn or error")
	fs.BoolVar(&o.logJSON, "log-json", false, "write logs as JSON")
	fs.Usage = flagenv.Usage(fs, "podling-worker registers with the masters and runs their tasks and pods on the local Docker Engine.")
	if err := flagenv.Parse(fs, args); err != nil {
		return options{}, err
	}
	return o, nil
}

func workerConfig(o options, logger hclog.Logger) (worker.Config, error) {
	cfg := worker.Config{
		NodeID:            o.nodeID,
		Hostname:          o.hostname,
		Port:              o.port,
		ListenAddr:        o.listenAddr,
		Masters:           splitList(o.masters),
		HeartbeatInterval: o.heartbeatInterval,
		Capacity:          o.capacity,
		PauseImage:        o.pauseImage,
		StopGrace:         o.stopGrace,
		DrainOnExit:       o.drainOnExit,
		Metrics:           metrics.NewWorker(),
		Logger:            logger,
	}
	if cfg.ListenAddr == "" {
		cfg.ListenAddr = ":" + strconv.Itoa(o.port)
	}
	if err := addSecurity(&cfg, o); err != nil {
		return cfg, err
	}
	if o.tokenFile == "" {
		return cfg, nil
	}
	token, err := readToken(o.tokenFile)
	cfg.Token = token
	return cfg, err
}

// addSecurity sets up checking the masters' calls and trusting their TLS.
func addSecurity(cfg *worker.Config, o options) error {
	if o.jwtSecretFile != "" {
		keys, err := auth.LoadKeys(o.jwtSecretFile)
		if err != nil {
			return err
		}
		cfg.Verifier = auth.NewVerifier(keys, o.jwtAudience)
	}
	if o.caFile == "" {
		return nil
	}
	pem, err := os.ReadFile(o.caFile)
	if err != nil {
		return fmt.Errorf("read CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return fmt.Errorf("CA file %s contains no PEM certificate", o.caFile)
	}
	cfg.MasterTLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return nil
}

func readToken(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read token file: %w", err)
	}
	token := strings.TrimSpace(string(data))
	if token == "" {
		return "", fmt.Errorf("token file %s is empty", path)
	}
	return token, nil
}

// splitList splits a comma-separated list, dropping blanks around items.
func splitList(s string) []string {
	var items []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}
