package game_test

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/orrery-go/orrery/examples/game/internal/game"
)

// screenWriter keeps what the game writes, and tells of each write.
type screenWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	wrote chan struct{}
}

func newScreenWriter() *screenWriter { return &screenWriter{wrote: make(chan struct{}, 1)} }

func (w *screenWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	select {
	case w.wrote <- struct{}{}:
	default: // a write not yet looked at is told of already
	}
	return w.buf.Write(p)
}

func (w *screenWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// await waits, up to a deadline, until what was written has n frames
// (n screen homes).
func (w *screenWriter) await(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for range 10000 {
		if strings.Count(w.String(), "\x1b[H") >= n {
			return
		}
		select {
		case <-w.wrote:
		case <-deadline:
			t.Fatalf("fewer than %d frames within 30s: %q", n, w.String())
		}
	}
	t.Fatalf("fewer than %d frames after 10000 writes", n)
}

// TestTerminalOutput reads the terminal output of a game: every frame
// starts with the join line and clears each of its lines to the end and
// the screen below it; the summary follows the last frame, once, and the
// cursor is shown again.
func TestTerminalOutput(t *testing.T) {
	defer goleak.VerifyNone(t)
	out := newScreenWriter()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan *game.Result, 1)
	go func() {
		res, err := game.Run(ctx, game.Config{Agents: 100, Seed: 3, Out: out, Terminal: true, ScreenCols: 80, ScreenRows: 24})
		assert.NoError(t, err)
		done <- res
	}()
	out.await(t, 3)
	cancel()
	res := <-done
	require.NotNil(t, res)

	s := out.String()
	require.True(t, strings.HasPrefix(s, "\x1b[?25l\x1b[2J\x1b[H"), "the first frame hides the cursor and clears the screen: %q", s)
	require.True(t, strings.HasSuffix(s, "\x1b[0m\x1b[?25h"), "the end shows the cursor: %q", s)
	frames := strings.Split(s, "\x1b[H")[1:] // [0] hides the cursor and clears the screen
	require.GreaterOrEqual(t, len(frames), 3)
	join := regexp.MustCompile(`^players: nc 127\.0\.0\.1 \d+   \(or telnet; type help\)\x1b\[K\n`)
	var after string
	for i, f := range frames {
		assert.Regexp(t, join, f, "frame %d starts with how to join", i)
		var found bool
		f, after, found = strings.Cut(f, "\x1b[J")
		require.True(t, found, "frame %d: the screen below is cleared", i)
		if i < len(frames)-1 {
			assert.Empty(t, after, "frame %d: nothing after it", i)
		}
		body := strings.Split(strings.TrimSuffix(f, "\n"), "\n")
		assert.Len(t, body, 1+2+15+2, "frame %d: the join line, a 15 rows box fitted to 80x24, 2 status lines", i)
		for _, l := range body {
			assert.True(t, strings.HasSuffix(l, "\x1b[K"), "frame %d: every line is cleared to its end: %q", i, l)
		}
	}
	summary, found := strings.CutSuffix(after, "\x1b[0m\x1b[?25h")
	require.True(t, found, "the cursor shown at the very end: %q", after)
	assert.Equal(t, res.Summary(), strings.ReplaceAll(strings.TrimSuffix(summary, "\n"), "\n", " "), "the summary, after the last frame")
	assert.Equal(t, 1, strings.Count(s, "game over"), "printed once")
}

// TestSmallTerminalGetsText: a screen too small for the arena gets the
// text summaries, not a drawing that would wrap and scroll.
func TestSmallTerminalGetsText(t *testing.T) {
	defer goleak.VerifyNone(t)
	var out bytes.Buffer
	res, err := game.Run(context.Background(), game.Config{
		Agents: 100, Seed: 3, Out: &out, Terminal: true, ScreenCols: 30, ScreenRows: 10, Duration: 50 * time.Millisecond,
	})
	require.NoError(t, err)
	assert.NotContains(t, out.String(), "\x1b")
	assert.True(t, strings.HasPrefix(out.String(), "players: nc 127.0.0.1 "), "%q", out.String())
	assert.True(t, strings.HasSuffix(out.String(), "\n"+res.Summary()+"\n"), "%q", out.String())
}

// failingWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestOutputFailureIsReported: a game whose output fails plays to its end
// and returns its result with the error, for the caller to show the
// summary elsewhere.
func TestOutputFailureIsReported(t *testing.T) {
	defer goleak.VerifyNone(t)
	for _, terminal := range []bool{false, true} {
		res, err := game.Run(context.Background(), game.Config{
			Agents: 100, Seed: 3, Out: failingWriter{}, Terminal: terminal, Duration: 50 * time.Millisecond,
		})
		assert.EqualError(t, err, "writing the display: disk full", "terminal %v", terminal)
		require.NotNil(t, res, "terminal %v", terminal)
		assert.Greater(t, res.Ticks, uint64(0), "terminal %v: the game was played", terminal)
		assert.Regexp(t, `^game over after \d+ ticks: `, res.Summary())
	}
}
