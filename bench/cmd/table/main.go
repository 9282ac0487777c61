// Command table runs the benchmark: for each level of load and each server
// it starts the server as a subprocess, runs the load generator against it
// (another subprocess), reads the server's CPU time from /proc around the
// measured phase, and prints one markdown table of requests/s, latency
// percentiles and server CPU per request.
//
//	go run ./cmd/table                  # 3 s measured + 1 s warm-up per cell
//	go run ./cmd/table -pin             # server on CPU 0, load generator on CPU 1
//	go run ./cmd/table -duration 1s -warmup 300ms -servers orrery,gnet
//
// The servers and the load generator are this same binary, run again with
// ORRERY_BENCH_ROLE set, so nothing needs building first.
package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/orrery-go/orrery/bench/internal/loadgen"
	"github.com/orrery-go/orrery/bench/internal/loopback"
	"github.com/orrery-go/orrery/bench/internal/server"
)

// roleEnv names the environment variable that turns this binary into a
// server or a load generator.
const roleEnv = "ORRERY_BENCH_ROLE"

// kindOrrerySpin is the table's name for the Orrery server with -spin.
const kindOrrerySpin = "orrery-spin"

// level is one load level of the table.
type level struct {
	name     string
	key      string
	conns    int
	pipeline int
}

// levels are the table's levels of load; key names each for -levels.
var levels = []level{
	{"1 conn", "1", 1, 1},
	{"50 conns", "50", 50, 1},
	{"50 conns ×16", "50x16", 50, 16},
	{"500 conns", "500", 500, 1},
}

type options struct {
	servers    []string
	duration   time.Duration
	warmup     time.Duration
	payload    int
	pin        bool
	serverCPU  int
	loadgenCPU int
	profileDir string
	rounds     int
	levels     []level
}

// cell is one measurement: a server at a level.
type cell struct {
	kind  string
	level level
	res   loadgen.Result
	cpu   time.Duration // server CPU time during the measured phase
	lgCPU time.Duration // the load generator's, likewise
	err   error
}

func main() {
	switch os.Getenv(roleEnv) {
	case "server":
		os.Exit(server.Main(os.Args[1:], os.Stdout, os.Stderr))
	case "loadgen":
		os.Exit(loadgen.Main(os.Args[1:], os.Stdout, os.Stderr))
	case "":
	default:
		fmt.Fprintf(os.Stderr, "table: unknown %s=%q\n", roleEnv, os.Getenv(roleEnv))
		os.Exit(2)
	}
	opts, err := parseFlags(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "table:", err)
		os.Exit(2)
	}
	if err := run(opts, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "table:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, error) {
	fs := flag.NewFlagSet("table", flag.ContinueOnError)
	var o options
	servers := fs.String("servers", strings.Join(server.Kinds, ","), "servers to run, comma-separated: "+strings.Join(append(server.Kinds[:len(server.Kinds):len(server.Kinds)], kindOrrerySpin), ", "))
	spin := fs.Bool("spin", false, "add the Orrery server with a spinning idle strategy ("+kindOrrerySpin+")")
	fs.DurationVar(&o.duration, "duration", 3*time.Second, "measured time per cell")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "warm-up time per cell, not measured")
	fs.IntVar(&o.payload, "payload", 32, "request payload bytes")
	fs.BoolVar(&o.pin, "pin", false, "pin the server to -server-cpu and the load generator to -loadgen-cpu")
	fs.IntVar(&o.serverCPU, "server-cpu", 0, "with -pin: the server's CPU")
	fs.IntVar(&o.loadgenCPU, "loadgen-cpu", 1, "with -pin: the load generator's CPU")
	levelKeys := make([]string, len(levels))
	for i, lv := range levels {
		levelKeys[i] = lv.key
	}
	levelList := fs.String("levels", strings.Join(levelKeys, ","), "levels to run, comma-separated: "+strings.Join(levelKeys, ", "))
	fs.IntVar(&o.rounds, "rounds", 1, "measure every cell this many times and report the round with the median req/s")
	fs.StringVar(&o.profileDir, "cpuprofile-dir", "", "write each server's CPU profile to DIR/<server>-<level>.prof")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	for _, k := range strings.Split(*servers, ",") {
		if k = strings.TrimSpace(k); k == "" {
			continue
		}
		if !server.ValidKind(k) && k != kindOrrerySpin {
			return o, fmt.Errorf("unknown server %q", k)
		}
		o.servers = append(o.servers, k)
	}
	if *spin && !strings.Contains(","+*servers+",", ","+kindOrrerySpin+",") {
		o.servers = append(o.servers, kindOrrerySpin)
	}
	for _, k := range strings.Split(*levelList, ",") {
		i := slices.IndexFunc(levels, func(lv level) bool { return lv.key == strings.TrimSpace(k) })
		if i < 0 {
			return o, fmt.Errorf("unknown level %q (want one of %s)", k, strings.Join(levelKeys, ", "))
		}
		o.levels = append(o.levels, levels[i])
	}
	if o.rounds < 1 {
		return o, errors.New("-rounds must be at least 1")
	}
	if len(o.servers) == 0 {
		return o, errors.New("no server to run")
	}
	if o.pin {
		var set unix.CPUSet
		if err := unix.SchedGetaffinity(0, &set); err != nil {
			return o, err
		}
		if !set.IsSet(o.serverCPU) || !set.IsSet(o.loadgenCPU) || o.serverCPU == o.loadgenCPU {
			return o, fmt.Errorf("-pin: CPUs %d and %d must be two different CPUs this process may use", o.serverCPU, o.loadgenCPU)
		}
	}
	return o, nil
}

func run(o options, out io.Writer) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if o.profileDir != "" {
		if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
			return err
		}
	}
	printHeader(out, o)
	// Every server is run at one level before the next level: the cells
	// compared with each other are measured close together in time, so
	// that a change in the machine's other load skews them less. Each cell
	// has a fresh server process. Rounds repeat the whole sequence.
	runs := make([][]cell, len(o.levels)*len(o.servers))
	for range o.rounds {
		for i, lv := range o.levels {
			for j, kind := range o.servers {
				c := measure(self, o, kind, lv)
				if c.err != nil {
					fmt.Fprintf(os.Stderr, "table: %s at %s: %v\n", kind, lv.name, c.err)
				}
				k := i*len(o.servers) + j
				runs[k] = append(runs[k], c)
			}
		}
	}
	cells := make([]cell, len(runs))
	for i, r := range runs {
		cells[i] = median(r)
	}
	printTable(out, cells)
	printGoals(out, cells)
	failed := 0
	for _, c := range cells {
		if c.err != nil {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d cells failed (see above)", failed, len(cells))
	}
	return nil
}

// median returns the run with the median req/s among those that succeeded
// (the lower middle one for an even count), or the last failure if none
// did. A whole run is kept, not a median per column, so that a row's
// figures come from one measurement and stay consistent with each other.
func median(runs []cell) cell {
	var ok []cell
	for _, c := range runs {
		if c.err == nil {
			ok = append(ok, c)
		}
	}
	if len(ok) == 0 {
		return runs[len(runs)-1]
	}
	slices.SortFunc(ok, func(a, b cell) int { return cmp.Compare(a.res.RPS, b.res.RPS) })
	return ok[(len(ok)-1)/2]
}

// measure runs one cell.
func measure(self string, o options, kind string, lv level) cell {
	c := cell{kind: kind, level: lv}
	srv, err := startServer(self, o, kind, lv)
	if err != nil {
		c.err = err
		return c
	}
	defer func() {
		if err := srv.stop(); err != nil && c.err == nil {
			c.err = err
		}
	}()
	c.res, c.cpu, c.lgCPU, c.err = runLoadgen(self, o, srv, lv)
	return c
}

type serverProc struct {
	cmd  *exec.Cmd
	addr string
	done chan error
}

func startServer(self string, o options, kind string, lv level) (*serverProc, error) {
	args := []string{"-addr", "127.0.0.1:0"}
	if kind == kindOrrerySpin {
		args = append(args, "-kind", server.KindOrrery, "-spin")
	} else {
		args = append(args, "-kind", kind)
	}
	if o.profileDir != "" {
		name := fmt.Sprintf("%s-%s.prof", kind, lv.key)
		args = append(args, "-cpuprofile", filepath.Join(o.profileDir, name))
	}
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), roleEnv+"=server")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := startOn(cmd, cpuFor(o, o.serverCPU)); err != nil {
		return nil, err
	}
	p := &serverProc{cmd: cmd, done: make(chan error, 1)}
	lines := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		lines <- strings.TrimSpace(line)
		io.Copy(io.Discard, r) // a server writes nothing more, but must never block on a full pipe
	}()
	go func() {
		p.done <- cmd.Wait()
	}()
	select {
	case p.addr = <-lines:
	case <-time.After(10 * time.Second):
		p.addr = ""
	}
	if err := loopback.Check(p.addr); err != nil {
		p.stop()
		return nil, fmt.Errorf("server did not print its address: %v", err)
	}
	if err := checkPinned(cmd.Process.Pid, cpuFor(o, o.serverCPU)); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

// stop sends SIGTERM, which a server answers by closing down (and writing
// its profile), and kills it if it has not exited within 10 s.
func (p *serverProc) stop() error {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			return fmt.Errorf("server exited: %w", err)
		}
		return nil
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		return errors.New("server did not stop within 10 s of SIGTERM; killed")
	}
}

// runLoadgen runs the load generator against srv and returns its result
// and the CPU time of the server and of the generator itself between the
// generator's two phase markers.
func runLoadgen(self string, o options, srv *serverProc, lv level) (res loadgen.Result, srvCPU, lgCPU time.Duration, err error) {
	cmd := exec.Command(self, "-json", "-addr", srv.addr,
		"-conns", strconv.Itoa(lv.conns), "-pipeline", strconv.Itoa(lv.pipeline),
		"-payload", strconv.Itoa(o.payload),
		"-duration", o.duration.String(), "-warmup", o.warmup.String())
	cmd.Env = append(os.Environ(), roleEnv+"=loadgen")
	cmd.Stderr = os.Stderr
	// The generator bounds its own run; this is the backstop.
	cmd.WaitDelay = time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return res, 0, 0, err
	}
	if err := startOn(cmd, cpuFor(o, o.loadgenCPU)); err != nil {
		return res, 0, 0, err
	}
	timer := time.AfterFunc(o.warmup+o.duration+30*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()
	if err := checkPinned(cmd.Process.Pid, cpuFor(o, o.loadgenCPU)); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return res, 0, 0, err
	}
	// CPU times at the two markers, [server, load generator].
	var at [2][2]time.Duration
	var cpuErr error
	read := func(i int) {
		for j, pid := range []int{srv.cmd.Process.Pid, cmd.Process.Pid} {
			var err error
			at[i][j], err = procCPU(pid)
			cpuErr = errors.Join(cpuErr, err)
		}
	}
	sc := bufio.NewScanner(stdout)
	gotResult := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == loadgen.MarkMeasure:
			read(0)
		case line == loadgen.MarkStop:
			read(1)
		case strings.HasPrefix(line, "{"):
			if err := json.Unmarshal([]byte(line), &res); err != nil {
				cpuErr = errors.Join(cpuErr, err)
			}
			gotResult = true
		}
	}
	err = cmd.Wait()
	if err == nil && !gotResult {
		err = errors.New("load generator printed no result")
	}
	if err != nil {
		return res, 0, 0, fmt.Errorf("load generator: %w", err)
	}
	return res, at[1][0] - at[0][0], at[1][1] - at[0][1], cpuErr
}

func cpuFor(o options, cpu int) int {
	if !o.pin {
		return -1
	}
	return cpu
}

// startOn starts cmd on one CPU (all CPUs if cpu < 0). A process's threads
// inherit the CPU set of the thread that created them, so the set is given
// to this goroutine's thread just for the fork: every thread of the child,
// including those its Go runtime starts later, is then on that CPU, and its
// GOMAXPROCS, which Go derives from the CPU set, is 1. (Setting the set of
// a running process would move only its main thread.)
func startOn(cmd *exec.Cmd, cpu int) error {
	if cpu < 0 {
		return cmd.Start()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var old, set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return err
	}
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return err
	}
	err := cmd.Start()
	if rerr := unix.SchedSetaffinity(0, &old); err == nil {
		err = rerr
	}
	return err
}

// checkPinned checks, when cpu >= 0, that every thread of pid may run on
// cpu alone.
func checkPinned(pid, cpu int) error {
	if cpu < 0 {
		return nil
	}
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, _ := strconv.Atoi(t.Name())
		var set unix.CPUSet
		if err := unix.SchedGetaffinity(tid, &set); err != nil {
			continue // the thread has exited
		}
		if set.Count() != 1 || !set.IsSet(cpu) {
			return fmt.Errorf("-pin: thread %d of process %d is not pinned to CPU %d", tid, pid, cpu)
		}
	}
	return nil
}

// clockTicks is the unit of the CPU times in /proc/PID/stat: USER_HZ, 100
// on every Linux architecture (sysconf(_SC_CLK_TCK) would need cgo).
const clockTicks = 100

// procCPU returns the CPU time pid has used, user and system, over all its
// threads, from /proc/PID/stat. Its resolution is 10 ms: over a measured
// phase of 3 s at tens of thousands of requests per second, well under 1%.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStat(string(b))
}

// parseStat reads utime and stime (fields 14 and 15) from the text of
// /proc/PID/stat. The command name (field 2) is in parentheses and may hold
// spaces and parentheses itself, so fields are counted from the last ')'.
func parseStat(s string) (time.Duration, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected /proc stat %q", s)
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3, the state
	if len(f) < 13 {
		return 0, fmt.Errorf("unexpected /proc stat %q", s)
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}
