// Package bots plays the game as scripted players: each bot is a client of
// the arena server's line protocol (package players), the one a person
// speaks with nc. It connects over TCP, watches the arena, spawns a ship
// (again after each death), and steers and fires at the nearest target the
// server's state lines show, every choice drawn from a seeded PCG of its
// own. The game's --sim runs the bots each on a simulated host of its own,
// where the same seed makes the same moves.
//
// A bot is two tasks on one connection: a reader that takes in every line
// the server sends (replies, state lines, news of the ship's death) and a
// brain that decides, every few hundred milliseconds, what to type next.
// They share the bot's state without locks: both run on the runtime's one
// thread.
package bots

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/socket"
	"github.com/orrery-go/orrery/examples/game/internal/players"
)

// Timing of a bot, in the runtime's time.
const (
	// MaxJoinDelay bounds the wait before a bot connects, drawn from its
	// seed: players join over the first half second, not all at once.
	MaxJoinDelay = 500 * time.Millisecond
	// ThinkMin and ThinkMax bound the pause between two commands.
	ThinkMin = 100 * time.Millisecond
	ThinkMax = 400 * time.Millisecond
	// FireEvery is the shortest gap a bot leaves between its shots: a
	// little more than the server's cooldown, which it measures on
	// arrival, after the link's jitter.
	FireEvery = players.FireCooldown + 50*time.Millisecond
	// QuitTimeout bounds the wait for the server's goodbye once a bot has
	// typed quit; then it closes the connection anyway.
	QuitTimeout = 2 * time.Second
)

// Config says which server a bot plays on and seeds its choices.
type Config struct {
	// Server is the players' address of the arena server.
	Server netip.AddrPort
	// Seed and Index seed the bot's random source (a PCG of the two):
	// bots of one game share the seed and each has its own index.
	Seed  uint64
	Index int
}

// Stats is what a bot did and saw.
type Stats struct {
	// Index is the bot's index (Config.Index).
	Index int
	// Connected tells whether the bot got through to the server (and
	// was welcomed).
	Connected bool
	// Commands counts the lines the bot typed; Lines the lines it read,
	// of which Updates were state lines and Errors error replies.
	Commands, Lines, Updates, Errors uint64
	// Spawns counts the ships the bot spawned, Deaths those destroyed,
	// Moves and Shots its steering and firing commands the server took.
	Spawns, Deaths, Moves, Shots uint64
	// Kills counts the kills of the bot's ships, as the server reported
	// them: those of each destroyed ship and the last count of the ship
	// alive at the end.
	Kills uint64
	// Goodbye tells whether the server said bye to the bot's quit.
	Goodbye bool
}

// bot is one player: its connection, its random source and what it knows
// of its ship, as the reader last heard.
type bot struct {
	cfg  Config
	rng  *rand.Rand
	conn *socket.TCPConn
	st   Stats

	ship       bool // the server said our ship is in the arena
	spawning   bool // a spawn was typed and not yet answered
	shipKills  uint64
	pos        [2]float64
	target     [2]float64
	haveTarget bool
	lastFire   time.Time
	out        []byte
}

// Play plays one bot until leave is cancelled: it connects after a seeded
// delay, plays, then types quit and waits for the server's goodbye and the
// end of the connection. It returns what the bot did; the error says why
// it could not connect or why the server dropped it, and the Stats are
// valid either way.
func Play(t *asyncrt.Task, cfg Config, leave *asyncrt.CancellationToken) (Stats, error) {
	b := &bot{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, uint64(cfg.Index))), st: Stats{Index: cfg.Index}}
	onLeave, onTime := asyncrt.OnCancel(leave), asyncrt.OnTimeout(0)
	onTime.Reset(b.between(0, MaxJoinDelay))
	if i, _ := asyncrt.Select(t, onLeave, onTime); i == 0 {
		return b.st, nil // the game ended before the bot joined
	}
	conn, err := socket.DialTCP(t, "tcp", cfg.Server.String())
	if err != nil {
		return b.st, fmt.Errorf("bot %d: %w", cfg.Index, err)
	}
	b.conn = conn
	defer conn.Close()
	reader := asyncrt.Spawn(t, b.read, asyncrt.Named("bot reader"))
	defer reader.Abort()
	onRead := asyncrt.OnJoin(reader)

	if err := b.send(t, "watch"); err != nil {
		return b.st, err
	}
	for {
		onTime.Reset(b.between(ThinkMin, ThinkMax))
		i, _ := asyncrt.Select(t, onLeave, onTime, onRead)
		switch i {
		case 0:
			return b.st, b.quit(t, reader)
		case 2:
			// The server closed the connection while the bot played.
			err, jerr := onRead.Result()
			if err = errors.Join(err, jerr); err == nil {
				err = errors.New("the server closed the connection")
			}
			return b.st, fmt.Errorf("bot %d: %w", cfg.Index, err)
		}
		if err := b.think(t); err != nil {
			return b.st, err
		}
	}
}

// think types the bot's next command: a spawn if it has no ship, or else a
// shot at the nearest target, a chase, or a turn in a random direction.
func (b *bot) think(t *asyncrt.Task) error {
	if !b.ship {
		if b.spawning {
			return nil // the answer is on its way
		}
		b.spawning = true
		return b.send(t, "spawn")
	}
	r := b.rng.Float64()
	canFire := t.Now().Sub(b.lastFire) >= FireEvery
	switch {
	case r < 0.05:
		return b.send(t, "stats")
	case r < 0.55 && canFire:
		dx, dy := b.aim()
		b.lastFire = t.Now()
		return b.send(t, "fire "+num(dx)+" "+num(dy))
	case r < 0.8 && b.haveTarget:
		dx, dy := b.target[0]-b.pos[0], b.target[1]-b.pos[1]
		if n := math.Hypot(dx, dy); n > 0 {
			speed := 6 + 4*b.rng.Float64()
			return b.send(t, "move "+num(dx/n*speed)+" "+num(dy/n*speed))
		}
	}
	angle := 2 * math.Pi * b.rng.Float64()
	speed := 10 * b.rng.Float64()
	return b.send(t, "move "+num(math.Cos(angle)*speed)+" "+num(math.Sin(angle)*speed))
}

// aim returns the direction of a shot: at the nearest target, a little
// off, or anywhere if none is in sight.
func (b *bot) aim() (float64, float64) {
	if b.haveTarget {
		dx, dy := b.target[0]-b.pos[0], b.target[1]-b.pos[1]
		if dx != 0 || dy != 0 {
			spread := (b.rng.Float64() - 0.5) * 0.3 // radians
			s, c := math.Sincos(spread)
			return dx*c - dy*s, dx*s + dy*c
		}
	}
	angle := 2 * math.Pi * b.rng.Float64()
	return math.Cos(angle), math.Sin(angle)
}

// num formats a coordinate for a command: two decimals, enough to steer.
func num(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

// between returns a duration drawn from [lo, hi).
func (b *bot) between(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(b.rng.Int64N(int64(hi-lo)))
}

// send types one command.
func (b *bot) send(t *asyncrt.Task, cmd string) error {
	b.out = append(append(b.out[:0], cmd...), '\n')
	if _, err := b.conn.Write(b.out); err != nil {
		return fmt.Errorf("bot %d: %s: %w", b.cfg.Index, cmd, err)
	}
	b.st.Commands++
	return nil
}

// quit says goodbye and waits, at most QuitTimeout, for the server's bye
// and the end of the connection.
func (b *bot) quit(t *asyncrt.Task, reader asyncrt.JoinHandle[error]) error {
	b.st.Kills += b.shipKills
	b.shipKills = 0
	if err := b.send(t, "quit"); err != nil {
		return err
	}
	onRead, onTime := asyncrt.OnJoin(reader), asyncrt.OnTimeout(QuitTimeout)
	if i, _ := asyncrt.Select(t, onRead, onTime); i == 1 {
		return fmt.Errorf("bot %d: no goodbye from the server in %v", b.cfg.Index, QuitTimeout)
	}
	err, jerr := onRead.Result()
	if err = errors.Join(err, jerr); err != nil {
		return fmt.Errorf("bot %d: after quit: %w", b.cfg.Index, err)
	}
	if !b.st.Goodbye {
		return fmt.Errorf("bot %d: the connection ended without a goodbye", b.cfg.Index)
	}
	return nil
}

// read takes in the server's lines until the connection ends: nil after
// the goodbye, the error otherwise.
func (b *bot) read(t *asyncrt.Task) error {
	r := bufio.NewReaderSize(b.conn, 4<<10)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			if b.st.Goodbye {
				return nil // the server closes after bye
			}
			return err
		}
		b.st.Lines++
		b.heard(strings.TrimSuffix(line, "\n"))
	}
}

// heard updates what the bot knows from one line of the server's.
func (b *bot) heard(line string) {
	switch {
	case strings.HasPrefix(line, "welcome"):
		b.st.Connected = true
	case strings.HasPrefix(line, "tick "):
		b.st.Updates++
		b.update(line)
	case strings.HasPrefix(line, "spawned ship at "):
		b.st.Spawns++
		b.ship, b.spawning, b.shipKills = true, false, 0
		b.haveTarget = false
		if x, y, ok := point(strings.TrimPrefix(line, "spawned ship at ")); ok {
			b.pos = [2]float64{x, y}
		}
	case strings.HasPrefix(line, "your ship was destroyed after "):
		b.st.Deaths++
		if k, err := strconv.ParseUint(strings.Fields(strings.TrimPrefix(line, "your ship was destroyed after "))[0], 10, 64); err == nil {
			b.st.Kills += k
		}
		b.ship, b.shipKills, b.haveTarget = false, 0, false
	case line == "ok":
		b.st.Moves++
	case line == "fired":
		b.st.Shots++
	case line == "bye":
		b.st.Goodbye = true
	case strings.HasPrefix(line, "error: "):
		b.st.Errors++
		switch line {
		case "error: no ship: spawn first":
			b.ship = false
		case "error: you already have a ship":
			b.ship, b.spawning = true, false
		}
	}
}

// update reads a state line: "tick N | ship at X,Y hp H kills K | nearest
// target D away at X,Y | ..." while the bot has a ship, "tick N | prey ..."
// while it has none.
func (b *bot) update(line string) {
	parts := strings.Split(line, " | ")
	if len(parts) < 3 || !strings.HasPrefix(parts[1], "ship at ") {
		b.ship, b.haveTarget = false, false
		return
	}
	f := strings.Fields(strings.TrimPrefix(parts[1], "ship at "))
	if len(f) == 5 && f[1] == "hp" && f[3] == "kills" {
		if x, y, ok := point(f[0]); ok {
			b.pos = [2]float64{x, y}
		}
		if k, err := strconv.ParseUint(f[4], 10, 64); err == nil {
			b.shipKills = k
		}
	}
	b.ship = true
	b.haveTarget = false
	if at, ok := strings.CutPrefix(parts[2], "nearest target "); ok {
		if _, p, ok := strings.Cut(at, " away at "); ok {
			if x, y, ok := point(p); ok {
				b.target, b.haveTarget = [2]float64{x, y}, true
			}
		}
	}
}

// point parses "X,Y".
func point(s string) (float64, float64, bool) {
	xs, ys, ok := strings.Cut(s, ",")
	if !ok {
		return 0, 0, false
	}
	x, err1 := strconv.ParseFloat(xs, 64)
	y, err2 := strconv.ParseFloat(ys, 64)
	return x, y, err1 == nil && err2 == nil
}
