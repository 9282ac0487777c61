package hdr_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/examples/internal/hdr"
)

func TestNewRejectsBadConfigurations(t *testing.T) {
	for _, c := range []struct {
		lowest, highest int64
		sig             int
	}{
		{0, 100, 3},
		{-1, 100, 3},
		{10, 19, 3},
		{10, 10, 3},
		{math.MaxInt64, math.MaxInt64, 3},
		{1, 100, 0},
		{1, 100, 6},
		{1, 100, -1},
		{1 << 45, math.MaxInt64, 5}, // buckets would not fit in 64 bits
		{1 << 58, math.MaxInt64, 1},
	} {
		h, err := hdr.New(c.lowest, c.highest, c.sig)
		assert.Error(t, err, "%+v", c)
		assert.Nil(t, h)
	}
	for _, c := range []struct {
		lowest, highest int64
		sig             int
	}{
		{1, 2, 1},
		{10, 20, 5},
		{1, math.MaxInt64, 2},
		{1 << 57, math.MaxInt64, 1},
		{1 << 44, math.MaxInt64, 5},
	} {
		h, err := hdr.New(c.lowest, c.highest, c.sig)
		require.NoError(t, err, "%+v", c)
		assert.Equal(t, c.lowest, h.Lowest())
		assert.Equal(t, c.highest, h.Highest())
		assert.Equal(t, c.sig, h.SigFigs())
	}
}

func TestEmpty(t *testing.T) {
	h, err := hdr.New(1, 1000, 2)
	require.NoError(t, err)
	assert.Zero(t, h.Count())
	assert.Zero(t, h.Min())
	assert.Zero(t, h.Max())
	assert.Zero(t, h.Mean())
	assert.Zero(t, h.Overflow())
	for _, q := range []float64{0, 50, 100} {
		assert.Zero(t, h.ValueAtQuantile(q))
	}
}

func TestSmallValuesAreExact(t *testing.T) {
	h, err := hdr.New(1, 1_000_000, 3)
	require.NoError(t, err)
	for v := int64(1); v <= 100; v++ {
		require.NoError(t, h.Record(v))
	}
	assert.Equal(t, int64(100), h.Count())
	assert.Equal(t, int64(1), h.Min())
	assert.Equal(t, int64(100), h.Max())
	assert.Equal(t, 50.5, h.Mean())
	assert.Equal(t, int64(1), h.ValueAtQuantile(0))
	assert.Equal(t, int64(1), h.ValueAtQuantile(1))
	assert.Equal(t, int64(2), h.ValueAtQuantile(1.5))
	assert.Equal(t, int64(50), h.ValueAtQuantile(50))
	assert.Equal(t, int64(99), h.ValueAtQuantile(99))
	assert.Equal(t, int64(100), h.ValueAtQuantile(100))
}

func TestLargeValuesWithinPrecision(t *testing.T) {
	h, err := hdr.New(1, 3_600_000_000_000, 3)
	require.NoError(t, err)
	require.NoError(t, h.Record(1_234_567_891))
	// Reported as the top of its bucket, capped at Max.
	assert.Equal(t, int64(1_234_567_891), h.ValueAtQuantile(50))
	require.NoError(t, h.Record(2_000_000_000))
	v := h.ValueAtQuantile(50)
	assert.GreaterOrEqual(t, v, int64(1_234_567_891))
	assert.LessOrEqual(t, v, int64(1_234_567_891+1_234_567))
	assert.Equal(t, int64(2_000_000_000), h.ValueAtQuantile(100))
}

func TestQuantileIsClamped(t *testing.T) {
	h, err := hdr.New(1, 1000, 3)
	require.NoError(t, err)
	for v := int64(10); v <= 20; v++ {
		require.NoError(t, h.Record(v))
	}
	assert.Equal(t, h.ValueAtQuantile(0), h.ValueAtQuantile(-5))
	assert.Equal(t, h.ValueAtQuantile(0), h.ValueAtQuantile(math.Inf(-1)))
	assert.Equal(t, h.ValueAtQuantile(0), h.ValueAtQuantile(math.NaN()))
	assert.Equal(t, h.ValueAtQuantile(100), h.ValueAtQuantile(150))
	assert.Equal(t, h.ValueAtQuantile(100), h.ValueAtQuantile(math.Inf(1)))
	assert.Equal(t, int64(10), h.ValueAtQuantile(0))
	assert.Equal(t, int64(20), h.ValueAtQuantile(100))
}

func TestOutOfRange(t *testing.T) {
	h, err := hdr.New(1, 1000, 3)
	require.NoError(t, err)
	require.NoError(t, h.Record(5))
	for _, v := range []int64{-1, math.MinInt64, 1001, math.MaxInt64} {
		assert.ErrorIs(t, h.Record(v), hdr.ErrOutOfRange, "%d", v)
	}
	assert.ErrorIs(t, h.RecordN(2000, 10), hdr.ErrOutOfRange)
	assert.Equal(t, int64(14), h.Overflow())
	assert.Equal(t, int64(1), h.Count())
	assert.Equal(t, int64(5), h.Min())
	assert.Equal(t, int64(5), h.Max())
	assert.Equal(t, 5.0, h.Mean())

	require.NoError(t, h.Record(1000), "highest itself is in range")
	require.NoError(t, h.Record(0), "zero is in range")
	assert.Equal(t, int64(0), h.Min())
	assert.Equal(t, int64(1000), h.Max())
}

func TestRecordN(t *testing.T) {
	h, err := hdr.New(1, 1000, 3)
	require.NoError(t, err)
	require.NoError(t, h.RecordN(7, 0))
	assert.Zero(t, h.Count())
	assert.Zero(t, h.Min(), "a zero count records nothing, not even min")
	assert.Error(t, h.RecordN(7, -1))
	assert.Zero(t, h.Overflow())
	assert.Zero(t, h.Count())

	require.NoError(t, h.RecordN(7, 3))
	require.NoError(t, h.RecordN(1, 1))
	assert.Equal(t, int64(4), h.Count())
	assert.Equal(t, 5.5, h.Mean())
	assert.Equal(t, int64(1), h.ValueAtQuantile(25))
	assert.Equal(t, int64(7), h.ValueAtQuantile(25.1))
}

func TestBelowLowest(t *testing.T) {
	h, err := hdr.New(1000, 1_000_000, 2)
	require.NoError(t, err)
	for _, v := range []int64{0, 3, 700} {
		require.NoError(t, h.Record(v))
	}
	assert.Equal(t, int64(0), h.Min())
	assert.Equal(t, int64(700), h.Max())
	// 0 and 3 share the lowest bucket, [0, 511]: 512 is the largest power
	// of two not above lowest.
	assert.Equal(t, int64(511), h.ValueAtQuantile(50))
	assert.Equal(t, int64(700), h.ValueAtQuantile(100))
}

func TestHugeValues(t *testing.T) {
	h, err := hdr.New(1, math.MaxInt64, 2)
	require.NoError(t, err)
	require.NoError(t, h.RecordN(math.MaxInt64, 3))
	require.NoError(t, h.Record(math.MaxInt64-1))
	assert.Equal(t, float64(math.MaxInt64), h.Mean(), "the sum does not overflow")
	assert.Equal(t, int64(math.MaxInt64), h.ValueAtQuantile(100))
	assert.Equal(t, int64(math.MaxInt64), h.ValueAtQuantile(0), "capped at max")
	assert.Equal(t, int64(math.MaxInt64-1), h.Min())
}

func TestMerge(t *testing.T) {
	a, _ := hdr.New(1, 1_000_000, 3)
	b, _ := hdr.New(1, 1_000_000, 3)
	all, _ := hdr.New(1, 1_000_000, 3)
	for v := int64(0); v < 5000; v += 7 {
		require.NoError(t, a.Record(v*3))
		require.NoError(t, all.Record(v*3))
	}
	for v := int64(100); v < 900_000; v += 997 {
		require.NoError(t, b.RecordN(v, 2))
		require.NoError(t, all.RecordN(v, 2))
	}
	assert.Error(t, b.Record(-1))
	assert.Error(t, all.Record(-1))

	require.NoError(t, a.Merge(b))
	assert.Equal(t, all.Count(), a.Count())
	assert.Equal(t, all.Min(), a.Min())
	assert.Equal(t, all.Max(), a.Max())
	assert.Equal(t, all.Mean(), a.Mean())
	assert.Equal(t, all.Overflow(), a.Overflow())
	for q := 0.0; q <= 100; q += 0.5 {
		assert.Equal(t, all.ValueAtQuantile(q), a.ValueAtQuantile(q), "p%v", q)
	}

	// Merging an empty histogram changes nothing; merging into an empty one
	// copies.
	empty, _ := hdr.New(1, 1_000_000, 3)
	require.NoError(t, a.Merge(empty))
	assert.Equal(t, all.Count(), a.Count())
	require.NoError(t, empty.Merge(all))
	assert.Equal(t, all.Min(), empty.Min())
	assert.Equal(t, all.ValueAtQuantile(99), empty.ValueAtQuantile(99))

	// Into itself: every count doubles.
	p50 := a.ValueAtQuantile(50)
	require.NoError(t, a.Merge(a))
	assert.Equal(t, 2*all.Count(), a.Count())
	assert.Equal(t, 2*all.Overflow(), a.Overflow())
	assert.Equal(t, all.Mean(), a.Mean())
	assert.Equal(t, p50, a.ValueAtQuantile(50))
}

func TestMergeMismatch(t *testing.T) {
	a, _ := hdr.New(1, 1_000_000, 3)
	require.NoError(t, a.Record(5))
	for _, c := range []struct {
		lowest, highest int64
		sig             int
	}{{2, 1_000_000, 3}, {1, 1_000_001, 3}, {1, 1_000_000, 2}} {
		o, err := hdr.New(c.lowest, c.highest, c.sig)
		require.NoError(t, err)
		require.NoError(t, o.Record(9))
		assert.ErrorIs(t, a.Merge(o), hdr.ErrConfigMismatch, "%+v", c)
	}
	assert.Equal(t, int64(1), a.Count())
	assert.Equal(t, int64(5), a.Max())
}

func TestReset(t *testing.T) {
	h, _ := hdr.New(1, 1000, 3)
	require.NoError(t, h.Record(5))
	require.Error(t, h.Record(5000))
	h.Reset()
	assert.Zero(t, h.Count())
	assert.Zero(t, h.Overflow())
	assert.Zero(t, h.Min())
	assert.Zero(t, h.Max())
	assert.Zero(t, h.Mean())
	assert.Zero(t, h.ValueAtQuantile(50))
	require.NoError(t, h.Record(9))
	assert.Equal(t, int64(9), h.Min())
	assert.Equal(t, int64(9), h.ValueAtQuantile(50))
}

func TestRecordDoesNotAllocate(t *testing.T) {
	h, _ := hdr.New(1, 3_600_000_000_000, 3)
	v := uint64(1)
	allocs := testing.AllocsPerRun(1000, func() {
		v = v*6364136223846793005 + 1442695040888963407
		if err := h.Record(int64(v % 3_600_000_000_000)); err != nil {
			panic(err)
		}
	})
	assert.Zero(t, allocs)
}
