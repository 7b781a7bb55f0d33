// Command podling-echo is the demo workload for Podling tasks and pods.
//
// By default it is an HTTP server that responds to every request with a JSON
// description of that request (method, path, query, headers, body) and the
// host name it runs on, except for two paths meant for probes: GET /healthz
// returns 200 until the server receives POST /fail, and 500 after that.
//
// With -exit it instead prints -lines numbered lines to standard output,
// waits -sleep, prints a last line naming the exit code and exits with that
// code, so a task can be made to complete or fail. The last line goes to
// standard error when the code is not zero.
//
// With -get URL it is an HTTP client: it sends one GET request, prints the
// response body and exits with 0 for a 2xx status and 1 otherwise, so that
// one container of a pod can check another over localhost.
//
// Every flag can also be set through the environment variable named in its
// help text; a flag on the command line wins.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// maxEchoBody is the largest request body echoed back.
const maxEchoBody = 1 << 20

// getTimeout bounds the request of -get.
const getTimeout = 10 * time.Second

type options struct {
	addr     string
	exitCode int
	exitMode bool
	lines    int
	sleep    time.Duration
	getURL   string
	serveFor time.Duration
	// addrIsDefault is set when no flag or variable chose the address.
	addrIsDefault bool
}

func main() {
	opts, err := parseOptions(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "podling-echo:", err)
		os.Exit(2)
	}
	// As PID 1 in a container the process gets no default signal handling,
	// so SIGTERM must be handled here for "docker stop" to work.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if opts.exitMode {
		os.Exit(runExit(ctx, opts))
	}
	if opts.getURL != "" {
		os.Exit(runGet(ctx, opts.getURL))
	}
	if opts.serveFor > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.serveFor)
		defer cancel()
	}
	if err := serve(ctx, opts.addr, opts.addrIsDefault); err != nil {
		log.Fatalf("podling-echo: %v", err)
	}
}

// envNames maps each flag to the environment variable that sets it.
var envNames = map[string]string{
	"addr":      "ECHO_ADDR",
	"exit":      "ECHO_EXIT_CODE",
	"get":       "ECHO_GET",
	"serve-for": "ECHO_SERVE_FOR",
	"lines":     "ECHO_LINES",
	"sleep":     "ECHO_SLEEP",
}

func parseOptions(args []string) (options, error) {
	fs := flag.NewFlagSet("podling-echo", flag.ContinueOnError)
	addr := fs.String("addr", ":8080", "listen address of the echo server (env ECHO_ADDR; PORT=N means :N); when the default port is taken, a free one is used")
	exitCode := fs.String("exit", "", "exit with this code (0-255) instead of serving (env ECHO_EXIT_CODE)")
	lines := fs.Int("lines", 1, "with -exit, number of numbered lines to print first (env ECHO_LINES)")
	sleep := fs.Duration("sleep", 0, "with -exit, time to wait before exiting, such as 2s (env ECHO_SLEEP)")
	getURL := fs.String("get", "", "send one GET request to this URL, print the body and exit 0 on a 2xx status, else 1; a refused connection is retried for 10s (env ECHO_GET)")
	serveFor := fs.Duration("serve-for", 0, "serve this long, such as 3s, then exit 0; 0 serves until stopped (env ECHO_SERVE_FOR)")
	if err := setFromEnv(fs); err != nil {
		return options{}, err
	}
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}

	opts := options{addr: *addr, lines: *lines, sleep: *sleep, getURL: *getURL, serveFor: *serveFor}
	explicit := false
	fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "addr" })
	if port := os.Getenv("PORT"); port != "" && !explicit {
		opts.addr, explicit = ":"+port, true
	}
	opts.addrIsDefault = !explicit
	if *exitCode == "" {
		return opts, nil
	}
	code, err := strconv.Atoi(*exitCode)
	if err != nil || code < 0 || code > 255 {
		return options{}, fmt.Errorf("invalid exit code %q: must be an integer from 0 to 255", *exitCode)
	}
	opts.exitCode, opts.exitMode = code, true
	return opts, nil
}

// runExit prints the requested output, waits, and returns the exit code.
// A signal ends the wait early.
func runExit(ctx context.Context, opts options) int {
	for i := 1; i <= opts.lines; i++ {
		fmt.Printf("podling-echo line %d\n", i)
	}
	select {
	case <-time.After(opts.sleep):
	case <-ctx.Done():
	}
	out := os.Stdout
	if opts.exitCode != 0 {
		out = os.Stderr
	}
	fmt.Fprintf(out, "podling-echo exiting with code %d\n", opts.exitCode)
	return opts.exitCode
}

// runGet sends one GET request to url, prints the response body to
// standard output and returns the exit code: 0 for a 2xx status, else 1.
func runGet(ctx context.Context, url string) int {
	ctx, cancel := context.WithTimeout(ctx, getTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintf(os.Stderr, "podling-echo: invalid -get URL %q: %v\n", url, err)
		return 1
	}
	resp, err := getWithRetry(ctx, req)
	if err != nil {
		fmt.Fprintf(os.Stderr, "podling-echo: GET %s failed: %v\n", url, err)
		return 1
	}
	defer resp.Body.Close()
	if _, err := io.Copy(os.Stdout, resp.Body); err != nil {
		fmt.Fprintf(os.Stderr, "podling-echo: read response of GET %s: %v\n", url, err)
		return 1
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		fmt.Fprintf(os.Stderr, "podling-echo: GET %s returned status %d\n", url, resp.StatusCode)
		return 1
	}
	return 0
}

// getWithRetry sends req, trying again while the connection is refused and
// ctx lasts, so a container started beside a server it calls need not wait
// for it first.
func getWithRetry(ctx context.Context, req *http.Request) (*http.Response, error) {
	for {
		resp, err := http.DefaultClient.Do(req)
		if err == nil || !errors.Is(err, syscall.ECONNREFUSED) {
			return resp, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// newHandler returns the server's routes: the probe paths and the echo.
func newHandler() http.Handler {
	var failing atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			http.Error(w, "failing since POST /fail", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("POST /fail", func(w http.ResponseWriter, r *http.Request) {
		failing.Store(true)
		fmt.Printf("POST /fail from %s: /healthz now fails\n", r.RemoteAddr)
		fmt.Fprintln(w, "/healthz now fails")
	})
	mux.HandleFunc("/", echo)
	return mux
}

// serve runs the echo server on addr until ctx ends. When addr is the
// default and its port is taken, as by another echo container in the same
// pod, it listens on a free port instead and prints which.
func serve(ctx context.Context, addr string, isDefault bool) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil && isDefault && errors.Is(err, syscall.EADDRINUSE) {
		ln, err = net.Listen("tcp", ":0")
	}
	if err != nil {
		return err
	}
	server := &http.Server{Handler: newHandler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = server.Shutdown(shutdownCtx)
	}()
	fmt.Printf("podling-echo listening on %s\n", ln.Addr())
	if err := server.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	fmt.Println("podling-echo stopped")
	return nil
}

// echoReply describes the request that was received.
type echoReply struct {
	Hostname string              `json:"hostname"`
	Method   string              `json:"method"`
	Path     string              `json:"path"`
	Query    map[string][]string `json:"query,omitempty"`
	Headers  map[string][]string `json:"headers"`
	Body     string              `json:"body,omitempty"`
}

func echo(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxEchoBody))
	if err != nil {
		http.Error(w, fmt.Sprintf("read request body: %v", err), http.StatusRequestEntityTooLarge)
		return
	}
	hostname, _ := os.Hostname()
	reply := echoReply{
		Hostname: hostname, Method: r.Method, Path: r.URL.Path,
		Query: r.URL.Query(), Headers: r.Header, Body: string(body),
	}
	fmt.Printf("%s %s from %s\n", r.Method, r.URL.Path, r.RemoteAddr)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(reply)
}

// setFromEnv sets each flag whose environment variable is set. It runs
// before parsing the command line, so a flag given there wins.
func setFromEnv(fs *flag.FlagSet) error {
	for flagName, envName := range envNames {
		value, ok := os.LookupEnv(envName)
		if !ok {
			continue
		}
		if err := fs.Set(flagName, value); err != nil {
			return fmt.Errorf("invalid %s=%q: %w", envName, value, err)
		}
	}
	return nil
}
