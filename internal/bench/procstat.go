package bench

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is the unit of utime and stime in /proc/<pid>/stat.
// NOTE: 100 is USER_HZ on every mainstream Linux build; reading the real
// value needs sysconf(_SC_CLK_TCK), which needs cgo.
const clockTicks = 100

// ProcessCPU returns the CPU time, user plus system, the process has used.
func ProcessCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read cpu time of pid %d: %w", pid, err)
	}
	// The command name in parentheses may contain spaces, so the fields
	// are counted from the closing parenthesis: state is field 3 of the
	// file and the first after it, utime and stime are fields 14 and 15.
	text := string(data)
	fields := strings.Fields(text[strings.LastIndexByte(text, ')')+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("parse /proc/%d/stat: only %d fields", pid, len(fields))
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse /proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// ProcessRSS returns the resident set size of the process in bytes.
func ProcessRSS(pid int) (int64, error) {
	file, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read memory of pid %d: %w", pid, err)
	}
	defer file.Close()
	scanner := bufio.NewScanner(file)
	for scanner.Scan() {
		rest, ok := strings.CutPrefix(scanner.Text(), "VmRSS:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("parse VmRSS of pid %d: %q", pid, rest)
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse VmRSS of pid %d: %w", pid, err)
		}
		return kb << 10, nil
	}
	if err := scanner.Err(); err != nil {
		return 0, fmt.Errorf("read /proc/%d/status: %w", pid, err)
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// CPUUse is the CPU used during a run, in cores: CPU time over wall time.
type CPUUse struct {
	Leader, Followers, Bench float64
}

func (u CPUUse) String() string {
	return fmt.Sprintf("%.2f / %.2f / %.2f", u.Leader, u.Followers, u.Bench)
}

// cpuMeter reads the CPU time of the leader, of the followers together and
// of this process.
type cpuMeter struct {
	leader    *Master
	followers []*Master
	at        time.Time
	start     [3]time.Duration
}

func startCPUMeter(leader *Master, followers []*Master) (*cpuMeter, error) {
	m := &cpuMeter{leader: leader, followers: followers}
	var err error
	m.start, err = m.read()
	m.at = time.Now()
	return m, err
}

func (m *cpuMeter) read() ([3]time.Duration, error) {
	var out [3]time.Duration
	var err error
	if m.leader != nil {
		if out[0], err = ProcessCPU(m.leader.PID()); err != nil {
			return out, err
		}
	}
	for _, f := range m.followers {
		used, err := ProcessCPU(f.PID())
		if err != nil {
			return out, err
		}
		out[1] += used
	}
	out[2], err = ProcessCPU(os.Getpid())
	return out, err
}

// stop returns the cores used since the meter started.
func (m *cpuMeter) stop() (CPUUse, error) {
	end, err := m.read()
	if err != nil {
		return CPUUse{}, err
	}
	wall := time.Since(m.at).Seconds()
	return CPUUse{
		Leader:    (end[0] - m.start[0]).Seconds() / wall,
		Followers: (end[1] - m.start[1]).Seconds() / wall,
		Bench:     (end[2] - m.start[2]).Seconds() / wall,
	}, nil
}

// machine describes the processor model and the memory from /proc, such
// as "AMD EPYC, 23.5 GiB of memory", or returns "" where neither can be
// read.
func machine() string {
	var parts []string
	if model := procField("/proc/cpuinfo", "model name"); model != "" {
		parts = append(parts, model)
	}
	if fields := strings.Fields(procField("/proc/meminfo", "MemTotal")); len(fields) == 2 && fields[1] == "kB" {
		if kb, err := strconv.ParseFloat(fields[0], 64); err == nil {
			parts = append(parts, fmt.Sprintf("%.1f GiB of memory", kb/(1<<20)))
		}
	}
	return strings.Join(parts, ", ")
}

// procField returns the value of the first line of a /proc file that
// starts with key and a colon, or "" when there is none.
func procField(path, key string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		name, value, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(name) == key {
			return strings.TrimSpace(value)
		}
	}
	return ""
}
