package app_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/orrery-go/orrery/examples/trading/internal/app"
)

// simConfig is a faulty simulated run: drops, cuts and partitions. Odd
// seeds also shuffle the ready tasks, to explore other interleavings.
func simConfig(seed uint64, out *bytes.Buffer) app.Config {
	return app.Config{
		Sim: true, Seed: seed, Duration: 20 * time.Second, Instruments: 4, Rate: 5000,
		DropRate: 0.05, CutEvery: 2 * time.Second, Partition: 3 * time.Second, Out: out,
		Shuffle: seed%2 == 1,
	}
}

// replay is the command that replays a simulated run of simConfig.
func replay(seed uint64) string {
	shuffle := ""
	if seed%2 == 1 {
		shuffle = " --shuffle"
	}
	return fmt.Sprintf("go run ./examples/trading --sim --seed %d --duration 20s --instruments 4 --rate 5000 "+
		"--drop-rate 0.05 --cut-every 2s --partition 3s%s", seed, shuffle)
}

func TestSimulationIsDeterministic(t *testing.T) {
	defer goleak.VerifyNone(t)
	var outs [3]bytes.Buffer
	var res [3]*app.Result
	for i, seed := range []uint64{11, 11, 12} {
		var err error
		res[i], err = app.Run(context.Background(), simConfig(seed, &outs[i]))
		require.NoError(t, err)
	}
	assert.Equal(t, outs[0].String(), outs[1].String(), "the same seed prints the same report, byte for byte")
	assert.Equal(t, res[0].Sim.Digest, res[1].Sim.Digest)
	assert.NotEqual(t, res[0].Sim.Digest, res[2].Sim.Digest, "another seed takes another path")
	assert.Contains(t, outs[0].String(), fmt.Sprintf("digest: %016x\n", res[0].Sim.Digest))
	assert.NotContains(t, outs[0].String(), "tick-to-trade", "no wall-clock figure on the report")
	assert.Equal(t, 20*time.Second, res[0].Sim.Faulty)
	assert.Greater(t, res[0].Sim.Simulated, res[0].Sim.Faulty, "a quiet phase follows the faults")
	assert.True(t, res[0].Sim.Settled)
}

func TestSimulationRejectsWhatItCannotDo(t *testing.T) {
	for _, c := range []struct {
		cfg  app.Config
		want string
	}{
		{app.Config{Sim: true, Role: app.RoleEngine, Duration: time.Second}, "drop --role"},
		{app.Config{Sim: true, Backtest: "x", Duration: time.Second}, "pick one"},
		{app.Config{Sim: true, Record: "x", Duration: time.Second}, "--record"},
		{app.Config{Sim: true, HTTP: "127.0.0.1:0", Duration: time.Second}, "--http"},
		{app.Config{Sim: true, Spin: true, Duration: time.Second}, "--spin"},
		{app.Config{Sim: true}, "--duration"},
		{app.Config{Partition: -time.Second, Duration: time.Second}, "partition"},
		{app.Config{Shuffle: true, Duration: time.Second}, "add --sim"},
	} {
		_, err := app.Run(context.Background(), c.cfg)
		require.Error(t, err, "%+v", c.cfg)
		assert.Contains(t, err.Error(), c.want)
	}
}

// sweepSeeds is how many seeds TestSimSeedSweep runs: ORRERY_SIM_SEEDS, or
// a few by default (and fewer under the race detector, which is slow).
func sweepSeeds(t *testing.T) int {
	if v := os.Getenv("ORRERY_SIM_SEEDS"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err, "ORRERY_SIM_SEEDS")
		return n
	}
	if raceEnabled || testing.Short() {
		return 2
	}
	return 8
}

// TestSimSeedSweep runs the faulty simulation over many seeds and checks,
// after each, what must hold whatever the faults did. A failing seed is
// reported with the command that replays it.
func TestSimSeedSweep(t *testing.T) {
	defer goleak.VerifyNone(t)
	first := uint64(1)
	if v := os.Getenv("ORRERY_SIM_FIRST_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		require.NoError(t, err, "ORRERY_SIM_FIRST_SEED")
		first = n
	}
	n := sweepSeeds(t)
	failed := 0
	for seed := first; seed < first+uint64(n); seed++ {
		var out bytes.Buffer
		res, err := app.Run(context.Background(), simConfig(seed, &out))
		if err != nil {
			t.Errorf("seed %d: %v\nreplay: %s", seed, err, replay(seed))
			failed++
			continue
		}
		if problems := checkInvariants(res); len(problems) > 0 {
			failed++
			t.Errorf("seed %d breaks %d invariants:\n  %s\nreplay: %s\nreport:\n%s",
				seed, len(problems), strings.Join(problems, "\n  "), replay(seed), out.String())
		}
	}
	t.Logf("%d seeds from %d, %d failed", n, first, failed)
}

// checkInvariants lists what a run got wrong.
func checkInvariants(res *app.Result) []string {
	var bad []string
	check := func(ok bool, format string, args ...any) {
		if !ok {
			bad = append(bad, fmt.Sprintf(format, args...))
		}
	}
	rep, x := res.Engine, res.Exchange
	g := rep.Gateway
	check(res.Reconciled, "engine and exchange disagree on positions or cash")
	check(x.UserFills == rep.Summary.Fills, "the exchange reported %d fills, the engine booked %d", x.UserFills, rep.Summary.Fills)
	// Every order and replace that reached the exchange was answered once,
	// and the answer reached the engine once: sequenced replay loses and
	// repeats nothing.
	answered := g.Accepted + g.Replaced + g.Rejected
	check(answered == x.Orders+x.Replaces, "the exchange took %d orders and replaces, the engine got %d answers",
		x.Orders+x.Replaces, answered)
	// What the engine sent either reached the exchange or was found lost.
	check(g.Orders+g.Replaces == x.Orders+x.Replaces+g.Lost, "the engine sent %d orders and replaces, the exchange took %d, %d were lost",
		g.Orders+g.Replaces, x.Orders+x.Replaces, g.Lost)
	check(g.Unknown == 0, "%d answers about orders the engine does not know", g.Unknown)
	check(res.Sim.Settled, "the engine did not settle once the faults stopped")
	f := rep.Feed
	check(f.Gaps > 0 && f.Recoveries >= f.Gaps && f.Snapshots == f.Recoveries,
		"feed gaps %d, recoveries %d, snapshots applied %d", f.Gaps, f.Recoveries, f.Snapshots)
	check(rep.Summary.Books == rep.Summary.Instruments, "%d of %d books fresh at the end", rep.Summary.Books, rep.Summary.Instruments)
	check(res.Sim.Partitions > 0, "no partition happened")
	check(x.Cuts > 0, "no session cut happened")
	check(res.Sim.LeftTasks == 0, "%d tasks left on the hosts", res.Sim.LeftTasks)
	check(res.Sim.OpenSockets == 0, "%d sockets left open", res.Sim.OpenSockets)
	return bad
}
