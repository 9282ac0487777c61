package game

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/examples/game/internal/players"
	"github.com/orrery-go/orrery/examples/game/internal/sim"
	"github.com/orrery-go/orrery/world"
	"github.com/orrery-go/orrery/worldctx"
)

// FrameEvery is the terminal's redraw period.
const FrameEvery = 100 * time.Millisecond

// display draws the arena (or prints summaries). Output goes through a
// goroutine of its own, so the runtime thread never waits for the
// terminal; a frame that finds the printer busy is skipped.
type display struct {
	out        io.Writer
	terminal   bool
	cols, rows int
	frames     chan []byte
	done       chan struct{}
	skipped    int
	start      time.Time
	cells      []byte
	free       chan []byte
}

func newDisplay(out io.Writer, terminal bool, cols, rows int) *display {
	d := &display{
		out: out, terminal: terminal, cols: cols, rows: rows,
		frames: make(chan []byte, 1), done: make(chan struct{}), free: make(chan []byte, 2),
		cells: make([]byte, cols*rows),
	}
	go d.print()
	return d
}

func (d *display) print() {
	defer close(d.done)
	for f := range d.frames {
		_, _ = d.out.Write(f)
		select {
		case d.free <- f[:0]:
		default:
		}
	}
}

// emit hands a frame to the printer, or drops it if the printer is busy.
func (d *display) emit(f []byte) {
	select {
	case d.frames <- f:
	default:
		d.skipped++
	}
}

func (d *display) buffer() []byte {
	select {
	case b := <-d.free:
		return b
	default:
		return make([]byte, 0, (d.cols+16)*(d.rows+4))
	}
}

// close waits for the printer to finish.
func (d *display) close() {
	close(d.frames)
	<-d.done
}

func (d *display) announce(addr netip.AddrPort) {
	d.emit(fmt.Appendf(nil, "players: nc %s %d   (or telnet; type help)\n", addr.Addr(), addr.Port()))
}

// run redraws the arena, or prints a summary every second, until the game
// ends.
func (d *display) run(t *asyncrt.Task, s *sim.Sim, srv *players.Server, m *meter, game *asyncrt.CancellationToken) {
	d.start = t.Now()
	every := time.Second
	if d.terminal {
		every = FrameEvery
		d.emit([]byte("\x1b[?25l\x1b[2J")) // hide the cursor, clear
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
			if d.terminal {
				d.emit(d.frame(s, srv, m, t.Now()))
			} else {
				d.emit(append(d.buffer(), d.summary(s, srv, m, t.Now())...))
			}
		})
	}
}

func (d *display) summary(s *sim.Sim, srv *players.Server, m *meter, now time.Time) string {
	pop, st := s.Population(), s.Arena().Stats
	return fmt.Sprintf("%5.1fs  tick %6d  prey %5d  predators %5d  ships %d  bullets %d  kills %d  spawned %d  players %d  tick p99 %v\n",
		now.Sub(d.start).Seconds(), s.Arena().Tick, pop.Prey, pop.Predators, pop.Ships, pop.Bullets,
		st.Kills, st.Spawned, srv.Stats().Active, time.Duration(m.hist.ValueAtQuantile(99)).Round(time.Microsecond))
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

func (d *display) frame(s *sim.Sim, srv *players.Server, m *meter, now time.Time) []byte {
	a := s.Arena()
	clear(d.cells)
	s.Each(func(b sim.Body, p sim.Position) {
		x := min(max(int(p.X/a.W*float64(d.cols)), 0), d.cols-1)
		y := min(max(int(p.Y/a.H*float64(d.rows)), 0), d.rows-1)
		if c := &d.cells[y*d.cols+x]; rank[b.Kind] > rank[*c] {
			*c = byte(b.Kind)
		}
	})
	f := d.buffer()
	f = append(f, "\x1b[H+"...)
	f = append(f, bytes.Repeat([]byte{'-'}, d.cols)...)
	f = append(f, "+\n"...)
	for y := range d.rows {
		f = append(f, '|')
		for _, c := range d.cells[y*d.cols : (y+1)*d.cols] {
			f = append(f, glyphs[c]...)
		}
		f = append(f, "|\n"...)
	}
	f = append(f, '+')
	f = append(f, bytes.Repeat([]byte{'-'}, d.cols)...)
	f = append(f, "+\n"...)
	f = append(f, d.summary(s, srv, m, now)...)
	return append(f, "\x1b[K"...)
}

// final prints the end of game summary; the runtime has stopped, and the
// printer is waited for, so nothing of it is dropped.
func (d *display) final(s *sim.Sim, ps players.Stats, m *meter) {
	if d.terminal {
		d.frames <- []byte("\x1b[?25h\n") // the cursor back
	}
	pop, st := s.Population(), s.Arena().Stats
	msg := fmt.Sprintf("game over after %d ticks: prey %d predators %d | spawned %d died %d kills %d bites %d shots %d hits %d | players %d (%d commands) | tick p50 %v p99 %v\n",
		s.Arena().Tick, pop.Prey, pop.Predators, st.Spawned, st.Died, st.Kills, st.Bites, st.Shots, st.Hits,
		ps.Sessions, ps.Commands,
		time.Duration(m.hist.ValueAtQuantile(50)).Round(time.Microsecond), time.Duration(m.hist.ValueAtQuantile(99)).Round(time.Microsecond))
	d.frames <- []byte(msg)
}
