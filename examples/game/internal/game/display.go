package game

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/examples/game/internal/players"
	"github.com/orrery-go/orrery/examples/game/internal/sim"
	"github.com/orrery-go/orrery/world"
	"github.com/orrery-go/orrery/worldctx"
)

// FrameEvery is the terminal's redraw period.
const FrameEvery = 100 * time.Millisecond

// The ANSI (ECMA-48) sequences the terminal view uses.
const (
	escHome       = "\x1b[H"
	escClear      = "\x1b[2J"
	escClearLine  = "\x1b[K" // from the cursor to the end of its line
	escClearBelow = "\x1b[J" // from the cursor to the end of the screen
	escHideCursor = "\x1b[?25l"
	escShowCursor = "\x1b[?25h"
	escPlain      = "\x1b[0m"
)

// A terminal frame is, top to bottom: the players' join line, the arena in
// a box, and the status lines. Every frame repeats the join line, so the
// screen clear of the first frame cannot erase it. Below the last frame
// come the final summary and then whatever the shell prints.
const (
	joinLines   = 1
	borderLines = 2
	promptLines = 1
	// A screen that cannot hold a drawing of minFitCols×minFitRows gets
	// the text summaries instead: a smaller box shows nothing useful, and
	// its status would need more lines than it has.
	minFitCols, minFitRows = 30, 5
)

// fit shrinks a cols×rows drawing so that a frame and the final summary
// below it fit a screen of screenCols×screenRows: then no line wraps and
// nothing scrolls, which would push the join line off the top and leave
// the redrawn frame misplaced. ok is false if the screen is too small.
func fit(cols, rows, screenCols, screenRows int) (c, r int, ok bool) {
	// The two borders, and the last column left blank: a terminal whose
	// cursor sits in the last column may erase its character on the
	// clear-to-end-of-line that follows.
	c = min(cols, screenCols-3)
	r = min(rows, screenRows-joinLines-borderLines-statusLines(c+2)-finalLines(c+2)-promptLines)
	return c, r, c >= minFitCols && r >= minFitRows
}

// finalLines is how many lines the final summary is given below a frame
// width columns wide: those of a summary with numbers larger than an
// ordinary game's (a longer one scrolls the screen at the very end, and
// only by its extra lines).
func finalLines(width int) int {
	large := Result{
		Ticks: 999999, Population: sim.Population{Prey: 99999, Predators: 99999},
		Stats:   sim.Stats{Spawned: 9999999, Died: 9999999, Kills: 9999999, Bites: 99999999, Shots: 99999, Hits: 99999},
		Players: players.Stats{Sessions: 999, Commands: 99999},
		TickP50: 999 * time.Microsecond, TickP99: 9999 * time.Microsecond,
	}
	return len(pack(large.summaryFields(), " ", width, 0))
}

// display draws the arena (or prints summaries). Output goes through a
// goroutine of its own, so the runtime thread never waits for the
// terminal; a frame that finds the printer busy is skipped.
type display struct {
	out        io.Writer
	terminal   bool
	cols, rows int
	// width is that of a frame's lines (the box's); status is how many
	// lines the status is given in a frame, the same in every frame, so
	// that the layout does not move.
	width, status int
	join          string // the join line, as the terminal shows it
	frames        chan []byte
	done          chan struct{}
	// err is the printer's first failed write (nothing is written after
	// it); read once done is closed.
	err     error
	skipped int
	// started is set once a frame that clears the screen and hides the
	// cursor is with the printer; ended once the terminal is restored;
	// closed once the printer is told to stop.
	started, ended, closed bool
	start                  time.Time
	cells                  []byte
	free                   chan []byte
}

func newDisplay(out io.Writer, terminal bool, cols, rows int) *display {
	d := &display{
		out: out, terminal: terminal, cols: cols, rows: rows, width: cols + 2, status: statusLines(cols + 2),
		frames: make(chan []byte, 1), done: make(chan struct{}), free: make(chan []byte, 2),
		cells: make([]byte, cols*rows), start: time.Now(),
	}
	go d.print(d.frames)
	return d
}

func (d *display) print(frames <-chan []byte) {
	defer close(d.done)
	for f := range frames {
		// After a failed write the frames are still taken, so that
		// nobody waits on the channel, but nothing more is written: the
		// failure is reported once, when the display is closed.
		if d.err == nil {
			if _, err := d.out.Write(f); err != nil {
				d.err = err
			}
		}
		select {
		case d.free <- f[:0]:
		default:
		}
	}
}

// emit hands a frame to the printer, or drops it if the printer is busy.
func (d *display) emit(f []byte) bool {
	select {
	case d.frames <- f:
		return true
	default:
		d.skipped++
		return false
	}
}

func (d *display) buffer() []byte {
	select {
	case b := <-d.free:
		return b
	default:
		return make([]byte, 0, (d.cols+16)*(d.rows+4)+d.width*(joinLines+d.status))
	}
}

// close gives the terminal back (if the final summary did not already),
// waits for the printer to finish, and returns its first failed write.
// Closing again does nothing.
func (d *display) close() error {
	if d.closed {
		return nil
	}
	if d.terminal && d.started && !d.ended {
		// The game failed: the frame stays on screen, and the error is
		// printed below it, in plain text, with the cursor back.
		d.frames <- []byte(escPlain + escShowCursor)
		d.ended = true
	}
	close(d.frames)
	d.closed = true
	<-d.done
	return d.err
}

func (d *display) announce(addr netip.AddrPort, url string) {
	short := fmt.Sprintf("players: nc %s %d", addr.Addr(), addr.Port())
	long := short + "   (or telnet; type help)"
	if !d.terminal {
		// The first output of all: the channel is empty, so this never
		// waits, and the line is never dropped as a busy frame would be.
		lines := long + "\n"
		if url != "" {
			lines += "live view: " + url + "\n"
		}
		d.frames <- []byte(lines)
		return
	}
	// Drawn at the top of every frame, within the frame's width: the live
	// view's address too, if there is room (a terminal of 60 columns or
	// more has).
	candidates := []string{long, short}
	if url != "" {
		view := "   live view: " + url
		candidates = []string{long + view, short + view, short + "  " + url, short}
	}
	d.join = truncate(short, d.width)
	for _, c := range candidates {
		if len(c) <= d.width {
			d.join = c
			break
		}
	}
}

// run redraws the arena, or prints a summary every second, until the game
// ends.
func (d *display) run(t *asyncrt.Task, s *sim.Sim, srv *players.Server, m *meter, game *asyncrt.CancellationToken) {
	every := time.Second
	if d.terminal {
		every = FrameEvery
	}
	onDone, onTick := asyncrt.OnCancel(game), asyncrt.OnTimeout(0)
	next := t.Now()
	for {
		next = next.Add(every)
		if now := t.Now(); next.Before(now) {
			next = now.Add(every) // fell behind: skip frames, do not burst
		}
		onTick.ResetAt(next)
		if i, _ := asyncrt.Select(t, onDone, onTick); i == 0 {
			return
		}
		worldctx.Of(t).With(func(*world.World) {
			fields := d.statusOf(s, srv.Stats().Active, m, t.Now())
			if d.terminal {
				if d.emit(d.frame(s, fields)) {
					d.started = true
				}
			} else {
				d.emit(append(append(d.buffer(), strings.Join(fields, "  ")...), '\n'))
			}
		})
	}
}

// statusOf is the status of the game at now.
func (d *display) statusOf(s *sim.Sim, activePlayers int, m *meter, now time.Time) []string {
	return status(now.Sub(d.start), s.Arena().Tick, s.Population(), s.Arena().Stats, activePlayers,
		time.Duration(m.hist.ValueAtQuantile(99)))
}

// status is the game's status line in fields of steady widths (while the
// numbers fit them), so that it keeps its layout from one frame to the
// next.
func status(elapsed time.Duration, tick uint64, pop sim.Population, st sim.Stats, activePlayers int, p99 time.Duration) []string {
	return []string{
		fmt.Sprintf("%5.1fs", elapsed.Seconds()),
		fmt.Sprintf("tick %6d", tick),
		fmt.Sprintf("prey %5d", pop.Prey),
		fmt.Sprintf("predators %5d", pop.Predators),
		fmt.Sprintf("ships %2d", pop.Ships),
		fmt.Sprintf("bullets %3d", pop.Bullets),
		fmt.Sprintf("kills %5d", st.Kills),
		fmt.Sprintf("spawned %6d", st.Spawned),
		fmt.Sprintf("players %2d", activePlayers),
		fmt.Sprintf("tick p99 %7v", p99.Round(time.Microsecond)),
	}
}

// statusLines is how many lines the status takes in a frame width
// columns wide, while its numbers fit their fields.
func statusLines(width int) int {
	return len(pack(status(0, 0, sim.Population{}, sim.Stats{}, 0, 999*time.Microsecond), "  ", width, 0))
}

// Glyphs by kind, most important last: a cell shows the most important
// thing in it.
var glyphs = [...]string{
	0:            " ",
	sim.Bullet:   "\x1b[37m*\x1b[0m",
	sim.Prey:     "\x1b[32mo\x1b[0m",
	sim.Predator: "\x1b[31mX\x1b[0m",
	sim.Ship:     "\x1b[1;33m@\x1b[0m",
}

var rank = [...]byte{0: 0, sim.Bullet: 1, sim.Prey: 2, sim.Predator: 3, sim.Ship: 4}

// frame draws the arena as it is now, with the status below it.
func (d *display) frame(s *sim.Sim, status []string) []byte {
	a := s.Arena()
	clear(d.cells)
	s.Each(func(b sim.Body, p sim.Position) {
		x := min(max(int(p.X/a.W*float64(d.cols)), 0), d.cols-1)
		y := min(max(int(p.Y/a.H*float64(d.rows)), 0), d.rows-1)
		if c := &d.cells[y*d.cols+x]; rank[b.Kind] > rank[*c] {
			*c = byte(b.Kind)
		}
	})
	return d.draw(d.buffer(), status)
}

// draw lays a frame out from the cells and the status fields. Each line
// is cleared to its end after it is drawn, and the screen below the
// frame, so nothing of an earlier, longer line or of the terminal's own
// echo (the ^C of an interrupt) stays on screen.
func (d *display) draw(f []byte, status []string) []byte {
	if !d.started {
		f = append(f, escHideCursor+escClear...)
	}
	f = append(f, escHome...)
	f = append(f, d.join...)
	f = append(f, escClearLine+"\n+"...)
	f = append(f, bytes.Repeat([]byte{'-'}, d.cols)...)
	f = append(f, "+"+escClearLine+"\n"...)
	for y := range d.rows {
		f = append(f, '|')
		for _, c := range d.cells[y*d.cols : (y+1)*d.cols] {
			f = append(f, glyphs[c]...)
		}
		f = append(f, "|"+escClearLine+"\n"...)
	}
	f = append(f, '+')
	f = append(f, bytes.Repeat([]byte{'-'}, d.cols)...)
	f = append(f, "+"+escClearLine+"\n"...)
	for _, l := range pack(status, "  ", d.width, d.status) {
		f = append(f, l...)
		f = append(f, escClearLine+"\n"...)
	}
	return append(f, escClearBelow...)
}

// final prints the end of game summary, once, after the last frame; the
// runtime has stopped, and the printer is waited for, so nothing of it is
// dropped. On a terminal a last frame shows the arena as the game ended,
// the summary is printed below it, and the cursor is shown again.
func (d *display) final(s *sim.Sim, res *Result, m *meter) {
	summary := res.summaryFields()
	if !d.terminal {
		d.frames <- []byte(strings.Join(summary, " ") + "\n")
		return
	}
	f := d.frame(s, d.statusOf(s, res.Players.Active, m, time.Now()))
	for _, l := range pack(summary, " ", d.width, 0) {
		f = append(f, l...)
		f = append(f, '\n')
	}
	// The glyphs reset their colours already; the reset here is for
	// what the shell prints next, whatever the frame ended with.
	d.frames <- append(f, escPlain+escShowCursor...)
	d.started, d.ended = true, true
}

// pack lays fields out in lines at most width columns wide, sep between
// the fields of a line. With n > 0 it makes at most n lines, the last
// one taking the fields that are left, truncated to width; with n == 0
// it truncates nothing, and a field wider than width is a line of its
// own.
func pack(fields []string, sep string, width, n int) []string {
	var lines []string
	var line strings.Builder
	for _, f := range fields {
		switch {
		case line.Len() == 0:
		case n > 0 && len(lines) == n-1, columns(line.String())+len(sep)+columns(f) <= width:
			line.WriteString(sep)
		default:
			lines = append(lines, line.String())
			line.Reset()
		}
		line.WriteString(f)
	}
	if line.Len() > 0 {
		lines = append(lines, line.String())
	}
	if n > 0 {
		for i, l := range lines {
			lines[i] = truncate(l, width)
		}
	}
	return lines
}

// columns is how many columns s takes on a terminal: one a rune (the
// summaries have nothing wider, and no escapes).
func columns(s string) int { return utf8.RuneCountInString(s) }

// truncate cuts s to at most width columns.
func truncate(s string, width int) string {
	for i := range s {
		if width == 0 {
			return s[:i]
		}
		width--
	}
	return s
}

// summaryFields is the end of game summary, in the units that a terminal
// may put on separate lines; joined with spaces they make its one line.
func (r *Result) summaryFields() []string {
	return []string{
		fmt.Sprintf("game over after %d ticks:", r.Ticks),
		fmt.Sprintf("prey %d", r.Population.Prey),
		fmt.Sprintf("predators %d |", r.Population.Predators),
		fmt.Sprintf("spawned %d", r.Stats.Spawned),
		fmt.Sprintf("died %d", r.Stats.Died),
		fmt.Sprintf("kills %d", r.Stats.Kills),
		fmt.Sprintf("bites %d", r.Stats.Bites),
		fmt.Sprintf("shots %d", r.Stats.Shots),
		fmt.Sprintf("hits %d |", r.Stats.Hits),
		fmt.Sprintf("players %d (%d commands) |", r.Players.Sessions, r.Players.Commands),
		fmt.Sprintf("tick p50 %v", r.TickP50.Round(time.Microsecond)),
		fmt.Sprintf("p99 %v", r.TickP99.Round(time.Microsecond)),
	}
}

// Summary is the end of game summary line (without a newline), as the
// display prints it when the game ends.
func (r *Result) Summary() string { return strings.Join(r.summaryFields(), " ") }
