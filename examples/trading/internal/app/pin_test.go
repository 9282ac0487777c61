package app_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/orrery-go/orrery/examples/trading/internal/app"
)

// allowedCPUs is how many CPUs the process may run on.
func allowedCPUs(t *testing.T) int {
	t.Helper()
	var set unix.CPUSet
	require.NoError(t, unix.SchedGetaffinity(0, &set))
	return set.Count()
}

func TestPinRejectsBadConfigurations(t *testing.T) {
	for name, cfg := range map[string]app.Config{
		"sim":           {Duration: time.Second, Pin: true, Sim: true},
		"backtest":      {Backtest: "x.rec", Pin: true},
		"role engine":   {Duration: time.Second, Pin: true, Role: app.RoleEngine},
		"role exchange": {Duration: time.Second, Pin: true, Role: app.RoleExchange},
	} {
		_, err := app.Run(context.Background(), cfg)
		if assert.Error(t, err, name) {
			assert.Contains(t, err.Error(), "--pin", name)
		}
	}
}

// A pinned run needs a CPU per runtime: the engine's (and its feed
// relay's, with two cores) and the exchange's. Where the machine has them
// the run trades and reconciles; where it has not, it is refused up front.
func TestPinnedRunReconcilesOrNeedsACPUPerRuntime(t *testing.T) {
	defer goleak.VerifyNone(t)
	cpus := allowedCPUs(t)
	for _, cores := range []int{1, 2} {
		var out bytes.Buffer
		res, err := app.Run(context.Background(), app.Config{
			Duration: 700 * time.Millisecond, Seed: 5, Instruments: 2, Rate: 2000,
			Cores: cores, Pin: true, Out: &out,
		})
		if cpus < cores+1 {
			require.Error(t, err, "cores %d on %d CPUs", cores, cpus)
			assert.Contains(t, err.Error(), "--pin needs a CPU for each of")
			continue
		}
		require.NoError(t, err, "cores %d", cores)
		assert.True(t, res.Reconciled, "cores %d", cores)
		assert.Positive(t, res.Engine.Orders, "cores %d: the engine traded", cores)
	}
}
