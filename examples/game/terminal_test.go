package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/examples/game/internal/termtest"
)

// timeout bounds every wait on the game: its output, its exit, a player's
// reply.
const timeout = 30 * time.Second

// buildGame builds the game and returns the binary's path: these tests run
// it as a person does, in a terminal and with its output piped.
func buildGame(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	require.NoError(t, err, "the go command builds the game")
	bin := filepath.Join(t.TempDir(), "game")
	out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// What the game prints. The status and the summary may be split over
// lines on a terminal; joined again (the status with two spaces, the
// summary with one), they are these lines.
var (
	joinLine    = regexp.MustCompile(`^players: nc 127\.0\.0\.1 (\d+)(   \(or telnet; type help\))?$`)
	border      = regexp.MustCompile(`^\+(-+)\+$`)
	duration    = `[\d.]+(ns|µs|ms|s)`
	statusLine  = regexp.MustCompile(`^ *\d+\.\ds  tick +\d+  prey +\d+  predators +\d+  ships +\d+  bullets +\d+  kills +\d+  spawned +\d+  players +(\d+)  tick p99 +` + duration + `$`)
	summaryLine = regexp.MustCompile(`^game over after \d+ ticks: prey \d+ predators \d+ \| spawned \d+ died \d+ kills \d+ bites \d+ shots \d+ hits \d+ \| players (\d+) \((\d+) commands\) \| tick p50 ` + duration + ` p99 ` + duration + `$`)
	exitedLine  = "[exited 0]" // termtest's shell, once the game exited with 0
)

// view is a screen read as the game's terminal view.
type view struct {
	port       int
	cols, rows int // the arena's, inside the box
	arena      []string
	status     []string
	players    int // in the status
	// below are the lines under the status, to the last that is not
	// empty; belowAt is the first one's row.
	below   []string
	belowAt int
}

// parseView reads a screen as the game's view: the join line on top, the
// arena in an intact box, and the status. Every line must be exactly what
// a frame draws: a character left over from an earlier frame, or the
// terminal's own, makes it fail.
func parseView(screen []string) (view, error) {
	var v view
	if len(screen) < 2 {
		return v, fmt.Errorf("a screen of %d lines", len(screen))
	}
	m := joinLine.FindStringSubmatch(screen[0])
	if m == nil {
		return v, fmt.Errorf("the top line is %q, not how to join", screen[0])
	}
	port, err := strconv.Atoi(m[1])
	if err != nil {
		return v, fmt.Errorf("the join line's port: %w", err)
	}
	v.port = port
	top := border.FindStringSubmatch(screen[1])
	if top == nil {
		return v, fmt.Errorf("line 2 is %q, not the top of the box", screen[1])
	}
	v.cols = len(top[1])
	width := v.cols + 2
	if n := utf8.RuneCountInString(screen[0]); n > width {
		return v, fmt.Errorf("the join line is %d columns, wider than the box (%d)", n, width)
	}
	i := 2
	for ; i < len(screen) && screen[i] != screen[1]; i++ {
		l := screen[i]
		if len(l) != width || l[0] != '|' || l[width-1] != '|' || strings.Trim(l[1:width-1], " oX@*") != "" {
			return v, fmt.Errorf("line %d is %q, not a row of the arena's box %d wide", i+1, l, width)
		}
		v.arena = append(v.arena, l)
	}
	if i == len(screen) {
		return v, errors.New("the box has no bottom")
	}
	v.rows = len(v.arena)
	for i++; i < len(screen) && screen[i] != "" && !strings.HasPrefix(screen[i], "game over") && screen[i] != exitedLine; i++ {
		if n := utf8.RuneCountInString(screen[i]); n > width {
			return v, fmt.Errorf("status line %q is %d columns, wider than the box (%d)", screen[i], n, width)
		}
		v.status = append(v.status, screen[i])
	}
	sm := statusLine.FindStringSubmatch(strings.Join(v.status, "  "))
	if sm == nil {
		return v, fmt.Errorf("the status is %q", v.status)
	}
	if v.players, err = strconv.Atoi(sm[1]); err != nil {
		return v, fmt.Errorf("the status's players: %w", err)
	}
	v.belowAt = i
	last := len(screen)
	for last > i && screen[last-1] == "" {
		last--
	}
	v.below = screen[i:last]
	return v, nil
}

// playing checks a screen while the game is on: the view, and nothing
// under it.
func playing(screen []string) (view, error) {
	v, err := parseView(screen)
	if err == nil && len(v.below) > 0 {
		err = fmt.Errorf("under the status: %q", v.below)
	}
	return v, err
}

// checkEnded checks the screen once the game has exited: its last view,
// then the summary, once, then the shell's line.
func checkEnded(t *testing.T, screen []string, sessions, commands int) view {
	t.Helper()
	v, err := parseView(screen)
	require.NoError(t, err, "the last view:\n%s", strings.Join(screen, "\n"))
	i := slices.Index(v.below, exitedLine)
	require.GreaterOrEqual(t, i, 1, "the summary, then the shell: %q", v.below)
	assert.Equal(t, len(v.below)-1, i, "nothing after the shell's line: %q", v.below)
	for _, l := range v.below[:i] {
		assert.LessOrEqual(t, utf8.RuneCountInString(l), v.cols+2, "the summary is as wide as the box at most: %q", l)
	}
	m := summaryLine.FindStringSubmatch(strings.Join(v.below[:i], " "))
	require.NotNil(t, m, "the summary: %q", v.below[:i])
	assert.Equal(t, strconv.Itoa(sessions), m[1], "players in the summary")
	assert.Equal(t, strconv.Itoa(commands), m[2], "commands in the summary")
	assert.Equal(t, 1, strings.Count(strings.Join(screen, "\n"), "game over"), "one summary")
	return v
}

// player is a player's connection, every read and write bounded in time.
type player struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func join(t *testing.T, port int) *player {
	t.Helper()
	conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), timeout)
	require.NoError(t, err, "the join line's port takes players")
	require.NoError(t, conn.SetDeadline(time.Now().Add(timeout)))
	p := &player{t: t, conn: conn, r: bufio.NewReader(conn)}
	t.Cleanup(func() {
		if err := conn.Close(); err != nil {
			t.Errorf("closing the player's connection: %v", err)
		}
	})
	assert.Contains(t, p.line(), "welcome")
	return p
}

func (p *player) line() string {
	l, err := p.r.ReadString('\n')
	require.NoError(p.t, err)
	return strings.TrimSuffix(l, "\n")
}

func (p *player) do(cmd string) string {
	_, err := p.conn.Write([]byte(cmd + "\n"))
	require.NoError(p.t, err)
	return p.line()
}

// left checks that the server ended the session when the game ended.
func (p *player) left() {
	_, err := io.ReadAll(p.r)
	assert.NoError(p.t, err, "the server closes the connection at the end of the game")
}

// TestTerminalView runs the game in a terminal (tmux) and reads the screen
// as a person sees it: the join line stays on top of every frame, no line
// has a character the frame did not draw, and the summary follows the
// last frame, once, with the cursor shown again. The game ends by Ctrl-C
// or by itself.
func TestTerminalView(t *testing.T) {
	termtest.Need(t)
	bin := buildGame(t)

	t.Run("a player joins, Ctrl-C ends the game", func(t *testing.T) {
		p := termtest.Start(t, 100, 40, bin, "--duration", "0", "--agents", "100")
		var v view
		p.Await("a frame of the game", func(screen []string) (err error) {
			v, err = playing(screen)
			return err
		})
		assert.Equal(t, 78, v.cols, "the default arena fits 100 columns")
		assert.Equal(t, 22, v.rows, "and 40 lines")

		pl := join(t, v.port)
		assert.Contains(t, pl.do("spawn"), "spawned ship at")
		p.Await("the player's ship", func(screen []string) (err error) {
			if v, err = playing(screen); err != nil {
				return err
			}
			if v.players != 1 || !slices.ContainsFunc(v.arena, func(l string) bool { return strings.Contains(l, "@") }) {
				return fmt.Errorf("%d players in the status", v.players)
			}
			return nil
		})

		p.SendKeys("C-c")
		screen, status := p.AwaitExit()
		assert.Zero(t, status, "the game ends well on Ctrl-C")
		v = checkEnded(t, screen, 1, 1)
		shown, x, y := p.Cursor()
		assert.True(t, shown, "the cursor is shown again")
		assert.Equal(t, []int{0, v.belowAt + len(v.below)}, []int{x, y}, "the cursor is on the line under the shell's")
		pl.left()
	})

	t.Run("the game ends by itself on an 80x24 terminal", func(t *testing.T) {
		p := termtest.Start(t, 80, 24, bin, "--duration", "1s", "--agents", "100")
		p.Await("a frame of the game", func(screen []string) error {
			_, err := parseView(screen) // or the last one, if the game is already over
			return err
		})
		screen, status := p.AwaitExit()
		assert.Zero(t, status)
		v := checkEnded(t, screen, 0, 0)
		assert.LessOrEqual(t, v.cols+2, 79, "no line reaches the terminal's last column")
		assert.GreaterOrEqual(t, v.rows, 5, "the arena is shrunk to fit, and still shown")
		shown, _, _ := p.Cursor()
		assert.True(t, shown, "the cursor is shown again")
	})
}

// TestPipedOutput runs the game with its output to a pipe: the join line,
// summaries as plain text lines, no escape sequences, and the final
// summary last and once — or on stderr, if the pipe's reader is gone.
func TestPipedOutput(t *testing.T) {
	bin := buildGame(t)

	t.Run("the game ends by itself", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		var stdout, stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, bin, "--duration", "1500ms", "--agents", "100")
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		require.NoError(t, cmd.Run(), "stderr: %s", &stderr)
		checkPiped(t, stdout.String(), 0, 0)
		assert.Empty(t, stderr.String())
	})

	t.Run("a player joins, SIGINT ends the game", func(t *testing.T) {
		cmd, out, stderr := startPiped(t, bin)
		first, port := readJoinLine(t, out)
		pl := join(t, port)
		assert.Contains(t, pl.do("spawn"), "spawned ship at")
		require.NoError(t, cmd.Process.Signal(os.Interrupt))
		rest, err := io.ReadAll(out)
		require.NoError(t, err)
		require.NoError(t, cmd.Wait(), "stderr: %s", stderr)
		checkPiped(t, first+string(rest), 1, 1)
		assert.Empty(t, stderr.String())
		pl.left()
	})

	t.Run("Ctrl-C ends the pipe's reader too", func(t *testing.T) {
		// As with "game | less" and Ctrl-C: stdout fails (EPIPE) and the
		// summary goes to stderr, with the error.
		cmd, out, stderr := startPiped(t, bin)
		readJoinLine(t, out)
		require.NoError(t, out.Close())
		require.NoError(t, cmd.Process.Signal(os.Interrupt))
		err := cmd.Wait()
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit, "stderr: %s", stderr)
		assert.Equal(t, 1, exit.ExitCode(), "the lost output is an error")
		lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
		require.Len(t, lines, 2, "the error and the summary: %q", lines)
		assert.Regexp(t, `^game: writing the display: .*broken pipe$`, lines[0])
		assert.Regexp(t, summaryLine, lines[1])
	})
}

// startPiped starts the game, until interrupted, with stdout to a pipe
// whose reads are bounded in time. The pipe's read end is the test's to
// close; the game is killed if the test ends first.
func startPiped(t *testing.T, bin string) (*exec.Cmd, *os.File, *bytes.Buffer) {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	require.NoError(t, r.SetReadDeadline(time.Now().Add(timeout)))
	cmd := exec.Command(bin, "--duration", "0", "--agents", "100")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = w, &stderr
	require.NoError(t, cmd.Start())
	// The game has its own copy of the write end: the read end sees EOF
	// when the game exits.
	require.NoError(t, w.Close())
	t.Cleanup(func() {
		if cmd.ProcessState == nil { // not waited for: the test failed
			if err := cmd.Process.Kill(); err != nil {
				t.Errorf("killing the game: %v", err)
			}
			if err := cmd.Wait(); err != nil && !isKilled(err) {
				t.Errorf("the game: %v", err)
			}
		}
		if err := r.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
			t.Errorf("closing the pipe: %v", err)
		}
	})
	return cmd, r, &stderr
}

func isKilled(err error) bool {
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return false
	}
	ws, ok := exit.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// readJoinLine reads the game's first line, byte by byte so that nothing
// after it is taken from the pipe, and returns it and the port.
func readJoinLine(t *testing.T, r io.Reader) (string, int) {
	t.Helper()
	var line []byte
	b := make([]byte, 1)
	for len(line) < 200 {
		_, err := io.ReadFull(r, b)
		require.NoError(t, err, "reading the join line, so far %q", line)
		if b[0] == '\n' {
			break
		}
		line = append(line, b[0])
	}
	m := joinLine.FindStringSubmatch(string(line))
	require.NotNil(t, m, "the first line is how to join: %q", line)
	port, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	return string(line) + "\n", port
}

// checkPiped checks the output of a game that was not on a terminal.
func checkPiped(t *testing.T, out string, sessions, commands int) {
	t.Helper()
	assert.NotContains(t, out, "\x1b", "no escape sequences")
	require.True(t, strings.HasSuffix(out, "\n"), "the output ends with a whole line: %q", out)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.GreaterOrEqual(t, len(lines), 2, "%q", lines)
	assert.Regexp(t, joinLine, lines[0], "first, how to join")
	for _, l := range lines[1 : len(lines)-1] {
		assert.Regexp(t, statusLine, l, "then a summary every second")
	}
	m := summaryLine.FindStringSubmatch(lines[len(lines)-1])
	require.NotNil(t, m, "last, the final summary: %q", lines[len(lines)-1])
	assert.Equal(t, strconv.Itoa(sessions), m[1], "players in the summary")
	assert.Equal(t, strconv.Itoa(commands), m[2], "commands in the summary")
	assert.Equal(t, 1, strings.Count(out, "game over"), "one final summary")
}
