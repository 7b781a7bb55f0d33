package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"
)

// Results holds every figure of one run.
type Results struct {
	Params    Params
	Date      time.Time
	Cores     int
	GoVersion string
	// Machine is the processor model and the memory size, read from /proc
	// where available.
	Machine string

	Bare          map[int]LoadRun
	BareFailovers []time.Duration

	CreatesLeader, CreatesFollower map[int]LoadRun
	// WriteLeaderChanges counts takeovers during the create runs.
	WriteLeaderChanges int

	ReadsLinear, ReadsStale LoadRun
	Failovers               []time.Duration
	Heartbeats              HeartbeatResult
	Dispatch                DispatchResult
	Scale                   ScaleResult

	Phases []PhaseTime
}

// LoadRun is one measured load run with the CPU it used.
type LoadRun struct {
	Summary
	CPU CPUUse
	// Split divides the time of a create run. It is zero for other runs.
	Split TimeSplit
	// TasksBefore counts the tasks the cluster held when the run began.
	TasksBefore int
}

// PhaseTime is the wall time of one phase of the run.
type PhaseTime struct {
	Name string
	Took time.Duration
}

// runner carries what every phase needs.
type runner struct {
	params Params
	bin    string
	root   string
	client *Client
	logf   func(string, ...any)
	res    *Results
}

// Run measures every figure. bin is a podling-master binary; clusters keep
// their data and logs under root, which the caller removes.
func Run(ctx context.Context, p Params, bin, root string, logf func(string, ...any)) (*Results, error) {
	r := &runner{
		params: p, bin: bin, root: root, logf: logf,
		client: NewClient(max(p.ReadClients, p.ScaleClients, 64, heartbeatSenders)),
		res: &Results{
			Params: p, Date: time.Now().UTC(), Cores: runtime.NumCPU(), GoVersion: runtime.Version(), Machine: machine(),
			Bare: map[int]LoadRun{}, CreatesLeader: map[int]LoadRun{}, CreatesFollower: map[int]LoadRun{},
		},
	}
	phases := []struct {
		name string
		run  func(context.Context) error
	}{
		{"bare raft", r.bareRaft},
		{"writes, reads and failover", r.writesReadsFailover},
		{"heartbeats", r.heartbeats},
		{"dispatch", r.dispatch},
		{"scale", r.scale},
	}
	for _, phase := range phases {
		start := time.Now()
		logf("phase %s: started", phase.name)
		if err := phase.run(ctx); err != nil {
			return r.res, fmt.Errorf("phase %s: %w", phase.name, err)
		}
		took := time.Since(start)
		r.res.Phases = append(r.res.Phases, PhaseTime{Name: phase.name, Took: took})
		logf("phase %s: done in %s", phase.name, took.Round(time.Millisecond))
	}
	return r.res, nil
}

// BuildMaster builds podling-master into dir with the go command goTool.
func BuildMaster(ctx context.Context, goTool, dir string) (string, error) {
	bin := filepath.Join(dir, "podling-master")
	cmd := exec.CommandContext(ctx, goTool, "build", "-trimpath", "-o", bin, "github.com/podling/podling/cmd/podling-master")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build podling-master: %w", err)
	}
	return bin, nil
}

// withCluster starts a cluster, runs fn on it and stops it. When fn
// fails, the error carries the end of each master's log.
func (r *runner) withCluster(ctx context.Context, name string, fn func(*Cluster) error) error {
	c, err := StartCluster(ctx, r.bin, r.root, name, r.client)
	if err != nil {
		return fmt.Errorf("start cluster %s: %w", name, err)
	}
	defer c.Stop()
	if err := fn(c); err != nil {
		return fmt.Errorf("%w\n%s", err, c.LogTails(20))
	}
	return nil
}

func (r *runner) bareRaft(ctx context.Context) error {
	c, err := StartBareCluster(ctx, filepath.Join(r.root, "bare"))
	if err != nil {
		return err
	}
	defer c.Close()
	for _, clients := range r.params.Concurrency {
		run, err := measured(nil, nil, func() (Summary, error) { return c.MeasureApply(ctx, clients, r.params.RaftWindow) })
		if err != nil {
			return err
		}
		r.res.Bare[clients] = run
		r.logf("bare raft, %d clients: %s", clients, run)
	}
	for i := range r.params.Kills {
		took, err := c.MeasureFailover(ctx)
		if err != nil {
			return fmt.Errorf("bare raft failover %d: %w", i+1, err)
		}
		r.res.BareFailovers = append(r.res.BareFailovers, took)
	}
	r.logf("bare raft failover: median %s over %d", ms(Median(r.res.BareFailovers)), len(r.res.BareFailovers))
	return nil
}

func (r *runner) writesReadsFailover(ctx context.Context) error {
	return r.withCluster(ctx, "writes", func(c *Cluster) error {
		ids, err := r.writes(ctx, c)
		if err != nil {
			return err
		}
		if err := r.reads(ctx, c, ids); err != nil {
			return err
		}
		r.res.Failovers, err = MeasureFailovers(ctx, c, r.client, r.params.Kills, r.logf)
		return err
	})
}

func (r *runner) writes(ctx context.Context, c *Cluster) ([]string, error) {
	leader, err := c.Leader(ctx)
	if err != nil {
		return nil, err
	}
	follower := c.Followers(leader)[0]
	before, err := c.LeaderChanges(ctx, leader)
	if err != nil {
		return nil, fmt.Errorf("read the failover record: %w", err)
	}

	ids := &idSample{}
	created := 0
	for _, clients := range r.params.Concurrency {
		for _, path := range []struct {
			name   string
			target *Master
			runs   map[int]LoadRun
		}{{"leader", leader, r.res.CreatesLeader}, {"follower", follower, r.res.CreatesFollower}} {
			split, err := startSplitMeter(ctx, c, leader, path.target)
			if err != nil {
				return nil, err
			}
			run, err := measured(leader, c.Followers(leader), func() (Summary, error) {
				return MeasureCreates(ctx, r.client, path.target, clients, r.params.WriteWindow, ids), nil
			})
			if err != nil {
				return nil, err
			}
			if run.Split, err = split.stop(ctx); err != nil {
				return nil, err
			}
			run.TasksBefore = created
			created += run.Ops
			path.runs[clients] = run
			r.logf("creates via %s, %d clients: %s", path.name, clients, run)
		}
	}

	after, err := c.LeaderChanges(ctx, leader)
	if err != nil {
		return nil, fmt.Errorf("read the failover record: %w", err)
	}
	r.res.WriteLeaderChanges = newerChanges(before, after)
	return ids.list(), nil
}

func (r *runner) reads(ctx context.Context, c *Cluster, ids []string) error {
	leader, err := c.Leader(ctx)
	if err != nil {
		return err
	}
	for _, stale := range []bool{false, true} {
		run, err := measured(leader, c.Followers(leader), func() (Summary, error) {
			return MeasureReads(ctx, r.client, c.Masters, ids, r.params.ReadClients, r.params.ReadWindow, stale)
		})
		if err != nil {
			return err
		}
		if stale {
			r.res.ReadsStale = run
		} else {
			r.res.ReadsLinear = run
		}
		r.logf("reads (stale %t): %s", stale, run)
	}
	return nil
}

// measured runs fn and adds the CPU the masters and this process used.
func measured(leader *Master, followers []*Master, fn func() (Summary, error)) (LoadRun, error) {
	meter, err := startCPUMeter(leader, followers)
	if err != nil {
		return LoadRun{}, err
	}
	s, err := fn()
	if err != nil {
		return LoadRun{}, err
	}
	use, err := meter.stop()
	return LoadRun{Summary: s, CPU: use}, err
}

func (r *runner) heartbeats(ctx context.Context) error {
	stub, err := StartStubWorker()
	if err != nil {
		return err
	}
	defer stub.Close()
	return r.withCluster(ctx, "heartbeats", func(c *Cluster) error {
		res, err := MeasureHeartbeats(ctx, c, r.client, r.params, stub.Port())
		r.res.Heartbeats = res
		r.logf("heartbeats: %d workers registered in %s, %.0f sent/s, %d errors (first: %s), %.2f heartbeat entries/s, %.2f entries/s (%v), cores leader/followers/benchmark %s",
			res.Workers, ms(res.RegisterTime), res.SentPerSecond(), res.Errors, res.FirstError, res.EntriesPerSecond(), res.AllEntriesPerSecond(), res.EntriesByCommand, res.CPU)
		return err
	})
}

func (r *runner) dispatch(ctx context.Context) error {
	stub, err := StartStubWorker()
	if err != nil {
		return err
	}
	defer stub.Close()
	return r.withCluster(ctx, "dispatch", func(c *Cluster) error {
		res, err := MeasureDispatch(ctx, c, r.client, stub, r.params.DispatchSamples)
		r.res.Dispatch = res
		r.logf("submit to dispatch: p50 %s, p99 %s over %d", res.P50, res.P99, res.Samples)
		return err
	})
}

func (r *runner) scale(ctx context.Context) error {
	var snapshot []byte
	err := r.withCluster(ctx, "scale", func(c *Cluster) error {
		res, data, err := MeasureScale(ctx, c, r.client, r.params, r.logf)
		r.res.Scale, snapshot = res, data
		r.logf("scale: RSS %v, snapshot %d bytes in %s", res.RSS, res.SnapshotBytes, ms(res.SnapshotTime))
		return err
	})
	if err != nil {
		return err
	}
	return r.withCluster(ctx, "restore", func(c *Cluster) error {
		took, err := MeasureRestore(ctx, c, r.client, snapshot, r.res.Scale.ProbeID, r.res.Scale.TaskCount)
		r.res.Scale.RestoreTime = took
		r.logf("restore: served by a follower after %s", took.Round(time.Millisecond))
		return err
	})
}

func (r LoadRun) String() string {
	return fmt.Sprintf("%s; cores leader/followers/benchmark %s", r.Summary, r.CPU)
}
