// Package players lets people join the game over TCP with a line protocol
// that nc or telnet can speak:
//
//	help                 list the commands
//	spawn                put your ship in the arena
//	move <vx> <vy>       steer your ship (units per second, clamped)
//	fire <dx> <dy>       shoot in a direction (four shots a second)
//	watch [on|off]       receive a state line ten times a second
//	stats                one line about the whole arena
//	quit                 leave
//
// Every command gets one line back; a bad one gets a line starting with
// "error:" and the session goes on. A client that vanishes leaves nothing
// behind: its ship is removed and its tasks end.
package players

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mlange-42/arche/ecs"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/socket"
	"github.com/orrery-go/orrery/examples/game/internal/sim"
	"github.com/orrery-go/orrery/world"
	"github.com/orrery-go/orrery/worldctx"
)

// MaxLine bounds a command line.
const MaxLine = 256

// WatchEvery is how often watchers get a state line.
const WatchEvery = 100 * time.Millisecond

// FireCooldown is the time between two shots of a ship.
const FireCooldown = 250 * time.Millisecond

// maxOutput is how much may wait for a slow client before it is dropped.
const maxOutput = 1 << 20

// Stats counts the server's traffic.
type Stats struct {
	Sessions, Commands, Errors, Updates uint64
	// AcceptErrors counts the failed accepts the server rode out (EMFILE
	// when the process runs out of file descriptors, ECONNABORTED...): it
	// pauses accepting, then accepts again (see Server.OnAcceptError).
	AcceptErrors uint64
	// Active is the number of connected sessions.
	Active int
}

// Server accepts players on a runtime.
type Server struct {
	sim      *sim.Sim
	ln       *socket.TCPListener
	sessions *asyncrt.JoinSet[struct{}] // session tasks (SpawnFunc): Serve's Shutdown ends them
	active   map[*session]struct{}
	stats    Stats
	retry    socket.AcceptRetry // 5 ms doubling to 1 s, as net/http
	// OnAcceptError, if set, is told of each failed accept that the server
	// rides out, as it happens, in place of the log. Otherwise the standard
	// logger gets the first failure of each burst and the accept that ends
	// it (socket.AcceptRetry), not every failure: out of descriptors, the
	// server may retry for a long time. Set it before Serve; it must not
	// suspend the task.
	OnAcceptError func(error)
}

// Listen starts listening on addr ("127.0.0.1:0" picks a port).
func Listen(t *asyncrt.Task, s *sim.Sim, addr string) (*Server, error) {
	if s == nil {
		return nil, errors.New("players: nil simulation")
	}
	ln, err := socket.ListenTCP(t, "tcp", addr, socket.ReuseAddr(true))
	if err != nil {
		return nil, fmt.Errorf("players: %w", err)
	}
	return &Server{sim: s, ln: ln, sessions: asyncrt.NewJoinSet[struct{}](), active: make(map[*session]struct{})}, nil
}

// Addr is the address players connect to.
func (srv *Server) Addr() netip.AddrPort { return srv.ln.AddrPort() }

// Stats returns the server's counters.
func (srv *Server) Stats() Stats {
	st := srv.stats
	st.Active = len(srv.active)
	st.AcceptErrors = srv.retry.Failures()
	return st
}

// Serve accepts players until stop is cancelled; then it says goodbye to
// every session, closes them and waits for their tasks. A failed accept
// that leaves the listener usable (out of file descriptors...) does not stop
// it: it pauses accepting, then accepts again, the players who queued
// meanwhile included. Should the listener fail for good, Serve logs it at
// once, lets the players already in play on until stop is cancelled, and
// then returns the error.
func (srv *Server) Serve(t *asyncrt.Task, stop *asyncrt.CancellationToken) error {
	if hook := srv.OnAcceptError; hook != nil {
		srv.retry.OnError = hook
		srv.retry.Log = func(string, ...any) {} // the hook was told of each failure
	} else {
		srv.retry.Log = func(format string, args ...any) { log.Printf("players: "+format, args...) }
	}
	accepts := asyncrt.Spawn(t, func(t *asyncrt.Task) error {
		// The stop case first: a stream of players must not hold it off.
		stopped, accept := asyncrt.OnCancel(stop), srv.retry.OnAccept(srv.ln)
		for {
			if i, _ := asyncrt.Select(t, stopped, accept); i == 0 {
				return nil
			}
			if err := accept.Err(); err != nil {
				return err // the listener failed for good: only Serve closes it, below
			}
			srv.stats.Sessions++
			ss := &session{srv: srv, conn: accept.Conn(), ctx: worldctx.Of(t), id: srv.stats.Sessions}
			srv.active[ss] = struct{}{}
			srv.sessions.SpawnFunc(t, ss.run, asyncrt.Named("player session"))
		}
	}, asyncrt.Named("player accepts"))
	acceptErr := accepts.Wait(t) // the loop's error, or its panic
	if acceptErr != nil {
		acceptErr = fmt.Errorf("players: no longer accepting players: %w", acceptErr)
		log.Print(acceptErr)
		stop.Cancelled(t) // the players already in play on until the end
	}
	if err := srv.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		log.Printf("players: closing the listener: %v", err) // the game goes on
	}
	for _, ss := range srv.byID() {
		ss.say("server shutting down")
		ss.closing = true
		ss.wakeWriter()
	}
	// Give the writers a moment to deliver the goodbye, then end the rest.
	for wait := 0; wait < 50 && len(srv.active) > 0; wait++ {
		t.Sleep(10 * time.Millisecond)
	}
	srv.sessions.Shutdown(t)
	return acceptErr
}

// byID returns the active sessions in the order they were accepted: what
// the server does to each of them happens in that order, not in the map's,
// so that a simulated run replays.
func (srv *Server) byID() []*session {
	list := make([]*session, 0, len(srv.active))
	for ss := range srv.active {
		list = append(list, ss)
	}
	slices.SortFunc(list, func(a, b *session) int { return cmp.Compare(a.id, b.id) })
	return list
}

// Player is a connected player, as a spectator sees them.
type Player struct {
	// ID is the session's number (the first player to join is 1).
	ID uint64 `json:"id"`
	// Addr is where the player connected from.
	Addr string `json:"addr"`
	// Ship tells whether the player has a ship in the arena; ShipID, X,
	// Y, HP and Kills describe it.
	Ship   bool    `json:"ship"`
	ShipID uint32  `json:"shipId,omitempty"`
	X      float64 `json:"x,omitempty"`
	Y      float64 `json:"y,omitempty"`
	HP     int32   `json:"hp,omitempty"`
	Kills  int32   `json:"kills"`
	// Commands counts the commands the player typed.
	Commands uint64 `json:"commands"`
}

// Players lists the connected players by ID. It reads the World: call it
// on the runtime's thread, inside a worldctx scope and outside any query.
func (srv *Server) Players() []Player {
	list := make([]Player, 0, len(srv.active))
	s := srv.sim
	for _, ss := range srv.byID() {
		p := Player{ID: ss.id, Addr: ss.conn.RemoteAddr().String(), Kills: ss.kills, Commands: ss.commands}
		if b, ok := s.Body(ss.ship); ok {
			pos, _ := s.Position(ss.ship)
			h, _ := s.Health(ss.ship)
			p.Ship, p.ShipID, p.X, p.Y, p.HP, p.Kills = true, b.ID, pos.X, pos.Y, h.HP, s.Kills(ss.ship)
		}
		list = append(list, p)
	}
	return list
}

type session struct {
	srv      *Server
	conn     *socket.TCPConn
	ctx      worldctx.Ctx
	id       uint64 // the session's number, from 1
	commands uint64
	ship     ecs.Entity
	kills    int32
	watching bool
	lastFire time.Time
	out      []byte
	spare    []byte
	wake     *asyncrt.Sender[struct{}]
	closing  bool
	gone     bool
}

func (ss *session) say(format string, args ...any) {
	if ss.gone {
		return
	}
	ss.out = fmt.Appendf(ss.out, format, args...)
	ss.out = append(ss.out, '\n')
	if len(ss.out) > maxOutput {
		ss.drop() // a client that does not read: let it go
		return
	}
	ss.wakeWriter()
}

func (ss *session) wakeWriter() {
	if ss.wake != nil {
		_ = ss.wake.TrySend(struct{}{}) // a full channel already holds a wake-up
	}
}

func (ss *session) drop() {
	if !ss.gone {
		ss.gone = true
		ss.conn.Close()
	}
}

func (ss *session) run(t *asyncrt.Task) {
	defer ss.leave(t)
	tx, rx, err := asyncrt.NewChan[struct{}](t.Runtime(), 1)
	if err != nil {
		return
	}
	ss.wake = tx
	writer := asyncrt.SpawnFunc(t, func(t *asyncrt.Task) { ss.write(t, rx) }, asyncrt.Named("player writer"))
	defer writer.Abort()
	ss.say("welcome to the arena; commands: help spawn move fire watch stats quit")
	r := bufio.NewReaderSize(ss.conn, MaxLine)
	for !ss.gone && !ss.closing {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			ss.srv.stats.Errors++
			ss.say("error: line longer than %d bytes", MaxLine)
			for errors.Is(err, bufio.ErrBufferFull) { // skip the rest of it
				_, err = r.ReadSlice('\n')
			}
			continue
		}
		if err != nil {
			return // gone (EOF, reset, or closed by the server)
		}
		if quit := ss.command(t, strings.TrimSpace(string(line))); quit {
			ss.closing = true
			ss.wakeWriter()
			_ = writer.Wait(t) // the goodbye goes out before the close
			return
		}
	}
}

// leave removes everything the session had.
func (ss *session) leave(t *asyncrt.Task) {
	ss.drop()
	if !ss.ship.IsZero() {
		ss.ctx.With(func(*world.World) { ss.srv.sim.Remove(ss.ship) })
	}
	delete(ss.srv.active, ss)
}

// write sends what is queued, and the state line to watchers.
func (ss *session) write(t *asyncrt.Task, wake *asyncrt.Receiver[struct{}]) {
	onWake, onTick := asyncrt.OnRecv(wake), asyncrt.OnTimeout(0)
	next := t.Now()
	for !ss.gone {
		if ss.watching {
			onTick.ResetAt(next)
		} else {
			onTick.Reset(time.Hour)
		}
		if i, _ := asyncrt.Select(t, onWake, onTick); i == 1 && ss.watching {
			ss.update()
			next = next.Add(WatchEvery)
			if now := t.Now(); next.Before(now) {
				next = now.Add(WatchEvery) // fell behind: skip, do not burst
			}
		}
		for len(ss.out) > 0 && !ss.gone {
			buf := ss.out
			ss.out = ss.spare[:0]
			if _, err := ss.conn.Write(buf); err != nil {
				ss.drop()
				return
			}
			ss.spare = buf[:0]
		}
		if ss.closing {
			ss.drop()
		}
	}
}

// checkShip notices a ship that died since the last look.
func (ss *session) checkShip() {
	if ss.ship.IsZero() || ss.srv.sim.Alive(ss.ship) {
		if !ss.ship.IsZero() {
			ss.kills = ss.srv.sim.Kills(ss.ship)
		}
		return
	}
	ss.say("your ship was destroyed after %d kills; spawn to play again", ss.kills)
	ss.ship, ss.kills = ecs.Entity{}, 0
}

func (ss *session) update() {
	ss.srv.stats.Updates++
	s := ss.srv.sim
	ss.ctx.With(func(*world.World) {
		ss.checkShip()
		pop := s.Population()
		tick := s.Arena().Tick
		if ss.ship.IsZero() {
			ss.say("tick %d | prey %d predators %d ships %d bullets %d", tick, pop.Prey, pop.Predators, pop.Ships, pop.Bullets)
			return
		}
		p, _ := s.Position(ss.ship)
		h, _ := s.Health(ss.ship)
		sn, _ := s.Senses(ss.ship)
		near := "none in sight"
		if !sn.Target.IsZero() {
			near = fmt.Sprintf("%.1f away at %.1f,%.1f", sn.TargetDist, sn.TargetAt.X, sn.TargetAt.Y)
		}
		ss.say("tick %d | ship at %.1f,%.1f hp %d kills %d | nearest target %s | prey %d predators %d ships %d",
			tick, p.X, p.Y, h.HP, ss.kills, near, pop.Prey, pop.Predators, pop.Ships)
	})
}

const help = "commands: spawn | move <vx> <vy> | fire <dx> <dy> | watch [on|off] | stats | quit"

// command runs one line and reports whether the player quit.
func (ss *session) command(t *asyncrt.Task, line string) (quit bool) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return false
	}
	ss.srv.stats.Commands++
	ss.commands++
	fail := func(format string, args ...any) bool {
		ss.srv.stats.Errors++
		ss.say("error: "+format, args...)
		return false
	}
	s := ss.srv.sim
	switch cmd := strings.ToLower(f[0]); cmd {
	case "help":
		ss.say(help)
	case "quit", "exit":
		ss.say("bye")
		return true
	case "stats":
		ss.ctx.With(func(*world.World) {
			pop, st, a := s.Population(), s.Arena().Stats, s.Arena()
			ss.say("tick %d | prey %d predators %d ships %d bullets %d | spawned %d died %d kills %d shots %d hits %d | players %d",
				a.Tick, pop.Prey, pop.Predators, pop.Ships, pop.Bullets, st.Spawned, st.Died, st.Kills, st.Shots, st.Hits, len(ss.srv.active))
		})
	case "watch":
		switch {
		case len(f) == 1 || len(f) == 2 && strings.EqualFold(f[1], "on"):
			ss.watching = true
			ss.say("watching")
			ss.wakeWriter()
		case len(f) == 2 && strings.EqualFold(f[1], "off"):
			ss.watching = false
			ss.say("stopped watching")
		default:
			return fail("usage: watch [on|off]")
		}
	case "spawn":
		if len(f) != 1 {
			return fail("usage: spawn")
		}
		ss.ctx.With(func(*world.World) { ss.checkShip() })
		if !ss.ship.IsZero() {
			return fail("you already have a ship")
		}
		var p sim.Position
		ss.ctx.With(func(*world.World) {
			ss.ship = s.SpawnShip()
			p, _ = s.Position(ss.ship)
		})
		ss.say("spawned ship at %.1f,%.1f", p.X, p.Y)
	case "move", "fire":
		x, y, err := twoFloats(f)
		if err != nil {
			return fail("usage: %s <x> <y>: %v", cmd, err)
		}
		ss.ctx.With(func(*world.World) { ss.checkShip() })
		if ss.ship.IsZero() {
			return fail("no ship: spawn first")
		}
		if cmd == "move" {
			ss.ctx.With(func(*world.World) { err = s.SetSteer(ss.ship, x, y) })
			if err != nil {
				return fail("%v", err)
			}
			ss.say("ok")
			return false
		}
		if now := t.Now(); now.Sub(ss.lastFire) < FireCooldown {
			return fail("cooling down")
		}
		ss.ctx.With(func(*world.World) { err = s.Fire(ss.ship, x, y) })
		if err != nil {
			return fail("%v", err)
		}
		ss.lastFire = t.Now()
		ss.say("fired")
	default:
		return fail("unknown command %q (try help)", f[0])
	}
	return false
}

func twoFloats(f []string) (float64, float64, error) {
	if len(f) != 3 {
		return 0, 0, fmt.Errorf("want two numbers, got %d", len(f)-1)
	}
	x, err := strconv.ParseFloat(f[1], 64)
	if err != nil {
		return 0, 0, fmt.Errorf("%q is not a number", f[1])
	}
	y, err := strconv.ParseFloat(f[2], 64)
	if err != nil {
		return 0, 0, fmt.Errorf("%q is not a number", f[2])
	}
	return x, y, nil
}

var _ io.Writer = (*socket.TCPConn)(nil)
