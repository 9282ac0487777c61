// Package termtest runs a program in a real terminal — a detached tmux
// session of a fixed size, on a tmux server of the test's own — and reads
// the screen as a person sees it.
//
// Without tmux the tests that use it are skipped, unless ORRERY_TMUX=1
// says that they must run (.ci/tmux sets it): then they fail.
package termtest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Timeout bounds every wait for the screen, and PollEvery is how often
// the screen is read meanwhile.
const (
	Timeout   = 30 * time.Second
	PollEvery = 10 * time.Millisecond
)

// maxPolls bounds a wait in count as Timeout bounds it in time.
const maxPolls = int(Timeout/PollEvery) + 1

// Pane is a tmux pane running a program.
type Pane struct {
	t    testing.TB
	tmux string
	sock string
	// Cols and Rows are the pane's size.
	Cols, Rows int
}

// Need returns the path of tmux, or skips the test if tmux is not
// installed — or fails it, if ORRERY_TMUX=1.
func Need(t testing.TB) string {
	t.Helper()
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		if os.Getenv("ORRERY_TMUX") == "1" {
			t.Fatalf("ORRERY_TMUX=1, but tmux is not installed: %v", err)
		}
		t.Skipf("tmux is not installed (%v): apt-get install tmux, or run .ci/tmux", err)
	}
	return tmux
}

// Start runs argv in a new tmux pane of cols×rows, the whole of its
// window (no status line). The pane and its server are gone when the
// test ends.
//
// The program runs under a shell that outlives it, as a person's would:
// Ctrl-C reaches the program (and does not end the shell), and when the
// program exits the shell prints "[exited STATUS]" where the cursor is,
// as its prompt would appear, and keeps the pane open to be read.
func Start(t testing.TB, cols, rows int, argv ...string) *Pane {
	t.Helper()
	tmux := Need(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "tmux.conf")
	// No status line: the pane is the whole window, cols×rows.
	if err := os.WriteFile(conf, []byte("set -g status off\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &Pane{t: t, tmux: tmux, sock: filepath.Join(dir, "tmux.sock"), Cols: cols, Rows: rows}
	// The server is started by the first command, with the test's
	// environment: the program's too. The pane's size is set before the
	// program starts, so it reads the right size.
	//
	// The shell's trap is a handler, not SIG_IGN, so the program starts
	// with SIGINT at its default (an ignored signal would stay ignored
	// across exec).
	script := `trap : INT; "$@"; echo "[exited $?]"; exec sleep 2147483647`
	args := append([]string{"-f", conf, "new-session", "-d", "-s", "test",
		"-x", strconv.Itoa(cols), "-y", strconv.Itoa(rows), "--", "/bin/sh", "-c", script, "sh"}, argv...)
	p.run(args...)
	t.Cleanup(func() {
		if _, err := p.cmd("kill-server"); err != nil {
			t.Errorf("stopping tmux: %v", err)
		}
	})
	return p
}

// cmd runs a tmux command on the pane's server.
func (p *Pane) cmd(args ...string) ([]byte, error) {
	c := exec.Command(p.tmux, append([]string{"-S", p.sock}, args...)...)
	// tmux inside tmux would talk to the outer server.
	c.Env = append(os.Environ(), "TMUX=")
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		return nil, fmt.Errorf("tmux %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out, nil
}

func (p *Pane) run(args ...string) []byte {
	p.t.Helper()
	out, err := p.cmd(args...)
	if err != nil {
		p.t.Fatal(err)
	}
	return out
}

// Capture is the screen now, a line a row (trailing blanks removed).
func (p *Pane) Capture() []string {
	p.t.Helper()
	out := p.run("capture-pane", "-p", "-t", "test")
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return lines
}

// Await reads the screen until check accepts it (returns nil), and
// returns it; the test fails, showing the last screen and what check
// found wrong with it, if that takes longer than Timeout.
func (p *Pane) Await(what string, check func(screen []string) error) []string {
	p.t.Helper()
	tick := time.NewTicker(PollEvery)
	defer tick.Stop()
	deadline := time.Now().Add(Timeout)
	var screen []string
	var err error
	for range maxPolls {
		screen = p.Capture()
		if err = check(screen); err == nil {
			return screen
		}
		if time.Now().After(deadline) {
			break
		}
		<-tick.C
	}
	p.t.Fatalf("waited %v for %s: %v; the screen:\n%s", Timeout, what, err, strings.Join(screen, "\n"))
	return nil
}

// SendKeys types keys into the pane, in tmux's key names ("C-c").
func (p *Pane) SendKeys(keys ...string) {
	p.t.Helper()
	p.run(append([]string{"send-keys", "-t", "test"}, keys...)...)
}

// Cursor says whether the cursor is shown, and where it is (0-based).
func (p *Pane) Cursor() (shown bool, x, y int) {
	p.t.Helper()
	out := strings.Fields(string(p.run("display-message", "-p", "-t", "test", "#{cursor_flag} #{cursor_x} #{cursor_y}")))
	if len(out) != 3 {
		p.t.Fatalf("tmux reported the cursor as %q", out)
	}
	var n [3]int
	for i, f := range out {
		v, err := strconv.Atoi(f)
		if err != nil {
			p.t.Fatalf("tmux reported the cursor as %q: %v", out, err)
		}
		n[i] = v
	}
	return n[0] == 1, n[1], n[2]
}

// exited is the line the pane's shell prints when the program exits.
var exited = regexp.MustCompile(`^\[exited (\d+)\]$`)

// AwaitExit waits for the program to exit, and returns the screen then
// and the program's exit status.
func (p *Pane) AwaitExit() (screen []string, status int) {
	p.t.Helper()
	screen = p.Await("exit of the program", func(screen []string) error {
		if !slices.ContainsFunc(screen, exited.MatchString) {
			return fmt.Errorf("no line %v", exited)
		}
		return nil
	})
	i := slices.IndexFunc(screen, exited.MatchString)
	status, err := strconv.Atoi(exited.FindStringSubmatch(screen[i])[1])
	if err != nil {
		p.t.Fatal(err)
	}
	return screen, status
}
