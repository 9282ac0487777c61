package game

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/examples/game/internal/sim"
	"github.com/orrery-go/orrery/examples/game/internal/termtest"
)

// TestFramesLeaveNothingBehind shows a terminal (tmux) a frame with long
// lines — the join line, the status — and then one with shorter ones,
// and reads the screen: exactly the second frame, nothing of the first.
func TestFramesLeaveNothingBehind(t *testing.T) {
	termtest.Need(t)
	d := newDisplay(nil, true, 40, 3) // the printer is not used
	require.NoError(t, d.close())
	require.Equal(t, 4, d.status, "the status has 4 lines in a 42 columns wide frame")

	d.announce(netip.MustParseAddrPort("[2001:db8:1234:5678:9abc:def0:1234:5678]:65535"), "")
	for i := range d.cells {
		d.cells[i] = byte(sim.Predator)
	}
	wide := strings.Repeat("w", d.width)
	frames := d.draw(nil, []string{wide, wide, wide, wide, wide})
	d.started = true // as emit does

	d.announce(netip.MustParseAddrPort("127.0.0.1:7"), "")
	clear(d.cells)
	frames = d.draw(frames, []string{"short", "status"})

	path := filepath.Join(t.TempDir(), "frames")
	require.NoError(t, os.WriteFile(path, frames, 0o600))
	p := termtest.Start(t, 50, 16, "cat", path)
	screen, status := p.AwaitExit()
	require.Zero(t, status)
	box := "+" + strings.Repeat("-", 40) + "+"
	row := "|" + strings.Repeat(" ", 40) + "|"
	want := []string{
		"players: nc 127.0.0.1 7", // "(or telnet; type help)" does not fit
		box, row, row, row, box,
		"short  status",
		"[exited 0]",
	}
	for len(want) < len(screen) {
		want = append(want, "")
	}
	assert.Equal(t, want, screen)
}

// TestJoinLineShowsTheLiveView: with --http the join line at the top of
// the terminal's frames gives the live view's address too, when the frame
// is wide enough for it.
func TestJoinLineShowsTheLiveView(t *testing.T) {
	addr, url := netip.MustParseAddrPort("127.0.0.1:40399"), "http://127.0.0.1:8080/"
	for cols, want := range map[int]string{
		90: "players: nc 127.0.0.1 40399   (or telnet; type help)   live view: http://127.0.0.1:8080/",
		78: "players: nc 127.0.0.1 40399   live view: http://127.0.0.1:8080/",
		62: "players: nc 127.0.0.1 40399   live view: http://127.0.0.1:8080/",
		50: "players: nc 127.0.0.1 40399  http://127.0.0.1:8080/",
		40: "players: nc 127.0.0.1 40399",
	} {
		d := newDisplay(nil, true, cols, 5) // the printer is not used
		require.NoError(t, d.close())
		d.announce(addr, url)
		assert.Equal(t, want, d.join, "%d columns", cols)
	}
	var out strings.Builder
	d := newDisplay(&out, false, 78, 22)
	d.announce(addr, url)
	require.NoError(t, d.close())
	assert.Equal(t, "players: nc 127.0.0.1 40399   (or telnet; type help)\nlive view: http://127.0.0.1:8080/\n", out.String())
}

func TestFitLeavesRoomForTheSummary(t *testing.T) {
	for _, sc := range [][2]int{{80, 24}, {100, 40}, {200, 60}, {60, 20}, {33, 30}, {120, 16}} {
		cols, rows, ok := fit(78, 22, sc[0], sc[1])
		require.True(t, ok, "%v", sc)
		assert.LessOrEqual(t, cols, 78, "%v: never wider than asked", sc)
		assert.LessOrEqual(t, rows, 22, "%v: never taller than asked", sc)
		width := cols + 2
		assert.Less(t, width, sc[0], "%v: the last column stays free", sc)
		height := joinLines + borderLines + rows + statusLines(width) + finalLines(width) + promptLines
		assert.LessOrEqual(t, height, sc[1], "%v: a frame, the summary and the prompt fit", sc)
	}
	cols, rows, ok := fit(78, 22, 80, 24)
	assert.Equal(t, []any{77, 15, true}, []any{cols, rows, ok}, "a standard terminal")
	cols, rows, ok = fit(78, 22, 200, 60)
	assert.Equal(t, []any{78, 22, true}, []any{cols, rows, ok}, "room to spare: the size asked")
	for _, sc := range [][2]int{{32, 40}, {80, 13}, {10, 5}} {
		_, _, ok := fit(78, 22, sc[0], sc[1])
		assert.False(t, ok, "%v is too small", sc)
	}
}

func TestPack(t *testing.T) {
	for _, c := range []struct {
		fields []string
		sep    string
		width  int
		n      int
		want   []string
	}{
		{[]string{"ab", "cd", "ef"}, "  ", 6, 0, []string{"ab  cd", "ef"}},
		{[]string{"ab", "cd", "ef"}, "  ", 6, 1, []string{"ab  cd"}},
		{[]string{"ab", "cd", "ef"}, "  ", 6, 5, []string{"ab  cd", "ef"}},
		{[]string{"abcdefgh", "x"}, " ", 4, 0, []string{"abcdefgh", "x"}},
		{[]string{"abcdefgh", "x"}, " ", 4, 2, []string{"abcd", "x"}},
		{[]string{"µµµ", "ab"}, " ", 6, 0, []string{"µµµ ab"}},
		{[]string{"µµµ", "ab"}, " ", 5, 1, []string{"µµµ a"}},
		{nil, " ", 5, 1, nil},
	} {
		assert.Equal(t, c.want, pack(c.fields, c.sep, c.width, c.n), "%q in %d columns, %d lines", c.fields, c.width, c.n)
	}
}
