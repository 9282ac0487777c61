package asyncrt_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orrery-go/orrery/asyncrt"
)

func TestSpawnFuncRunsAndWaitReportsHowItEnded(t *testing.T) {
	rt := newRuntime(t, nil)
	type result struct {
		ran              int
		ok, aborted, bad error
	}
	r := block(t, rt, func(t *asyncrt.Task) result {
		var r result
		r.ok = asyncrt.SpawnFunc(t, func(t *asyncrt.Task) { t.Yield(); r.ran++ }).Wait(t)
		h := asyncrt.SpawnFunc(t, func(t *asyncrt.Task) { asyncrt.SuspendForever(t) })
		t.Yield()
		h.Abort()
		r.aborted = h.Wait(t)
		r.bad = asyncrt.SpawnFunc(t, func(t *asyncrt.Task) { panic("boom") }).Wait(t)
		return r
	})
	assert.Equal(t, 1, r.ran)
	assert.NoError(t, r.ok)
	assert.ErrorIs(t, r.aborted, asyncrt.ErrAborted)
	var pe *asyncrt.PanicError
	assert.ErrorAs(t, r.bad, &pe)
}

type customErr struct{}

func (*customErr) Error() string { return "custom" }

func TestWaitReturnsTheTasksOwnErrorOnlyForErrorResults(t *testing.T) {
	rt := newRuntime(t, nil)
	errs := block(t, rt, func(t *asyncrt.Task) []error {
		return []error{
			asyncrt.Spawn(t, func(*asyncrt.Task) error { return errors.New("own") }).Wait(t),
			asyncrt.Spawn(t, func(*asyncrt.Task) error { return nil }).Wait(t),
			asyncrt.Spawn(t, func(*asyncrt.Task) int { return 7 }).Wait(t),
			// Not the error type itself: the value is a result, not a failure,
			// and a typed nil pointer must not read as an error.
			asyncrt.Spawn(t, func(*asyncrt.Task) *customErr { return nil }).Wait(t),
			asyncrt.Spawn(t, func(*asyncrt.Task) *customErr { return &customErr{} }).Wait(t),
		}
	})
	assert.EqualError(t, errs[0], "own")
	assert.NoError(t, errs[1])
	assert.NoError(t, errs[2])
	assert.NoError(t, errs[3])
	assert.NoError(t, errs[4])
}

func TestWaitAfterAwaitReportsJoined(t *testing.T) {
	rt := newRuntime(t, nil)
	err := block(t, rt, func(t *asyncrt.Task) error {
		h := asyncrt.Spawn(t, func(*asyncrt.Task) error { return errors.New("own") })
		_, _ = h.Await(t)
		return h.Wait(t)
	})
	assert.ErrorIs(t, err, asyncrt.ErrJoined)
}

func TestJoinSetSpawnFuncAndRefusals(t *testing.T) {
	rt := newRuntime(t, asyncrt.NewBuilder().TaskPool(2, true))
	type result struct {
		ids      []uint64
		lenFirst int
		errs     []error
		own      []error
	}
	r := block(t, rt, func(t *asyncrt.Task) result {
		var r result
		set := asyncrt.NewJoinSet[error]()
		r.ids = append(r.ids,
			set.SpawnFunc(t, func(t *asyncrt.Task) { t.Yield() }),
			set.Spawn(t, func(t *asyncrt.Task) error { return errors.New("own") }),
			set.SpawnFunc(t, func(t *asyncrt.Task) {}), // the pool's 2 are taken
		)
		r.lenFirst = set.Len()
		for {
			res, ok := set.Next(t)
			if !ok {
				break
			}
			r.errs = append(r.errs, res.Err)
			r.own = append(r.own, res.Error())
		}
		return r
	})
	assert.NotZero(t, r.ids[0])
	assert.NotZero(t, r.ids[1])
	assert.Zero(t, r.ids[2], "a refused spawn has no task")
	assert.Equal(t, 3, r.lenFirst)
	require.Len(t, r.errs, 3)
	assert.ErrorIs(t, r.errs[0], asyncrt.ErrPoolFull, "the refusal comes out first")
	assert.ElementsMatch(t, []error{nil, nil}, r.errs[1:])
	assert.ErrorIs(t, r.own[0], asyncrt.ErrPoolFull)
	assert.ElementsMatch(t, []string{"own", "<nil>"}, []string{errString(r.own[1]), errString(r.own[2])})
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func TestRemoteSpawnOnAFullPoolIsRefused(t *testing.T) {
	rt := newRuntime(t, asyncrt.NewBuilder().TaskPool(1, true))
	var err error
	block(t, rt, func(t *asyncrt.Task) int {
		release := asyncrt.NewNotify(t.Runtime())
		hold := asyncrt.SpawnFunc(t, func(t *asyncrt.Task) { release.Wait(t) }) // takes the pool's only coroutine
		rh := t.Runtime().Handle()
		_, err = asyncrt.Go(t, func() (int, error) {
			remote, serr := asyncrt.SpawnRemote(rh, func(*asyncrt.Task) int { return 1 })
			if serr != nil {
				return 0, serr
			}
			return remote.Wait()
		})
		release.Notify()
		_ = hold.Wait(t)
		return 0
	})
	assert.ErrorIs(t, err, asyncrt.ErrPoolFull)
}

func TestRunJoinsTheRootsErrorAndTheRuntimes(t *testing.T) {
	rt := newRuntime(t, nil)
	assert.NoError(t, asyncrt.Run(rt, func(*asyncrt.Task) error { return nil }))
	assert.EqualError(t, asyncrt.Run(rt, func(*asyncrt.Task) error { return errors.New("own") }), "own")
	var pe *asyncrt.PanicError
	assert.ErrorAs(t, asyncrt.Run(rt, func(*asyncrt.Task) error { panic("boom") }), &pe)
	assert.ErrorIs(t, asyncrt.Run(rt, func(t *asyncrt.Task) error { asyncrt.SuspendForever(t); return nil }), asyncrt.ErrDeadlock)
	assert.EqualError(t, asyncrt.Run(rt, nil), "asyncrt: Run called with a nil function")
	rt.Close()
	assert.ErrorIs(t, asyncrt.Run(rt, func(*asyncrt.Task) error { return nil }), asyncrt.ErrClosed)
}

func TestGoFunc(t *testing.T) {
	rt := newRuntime(t, nil)
	errs := block(t, rt, func(t *asyncrt.Task) []error {
		return []error{
			asyncrt.GoFunc(t, func() error { return nil }),
			asyncrt.GoFunc(t, func() error { return errors.New("disk") }),
			asyncrt.SpawnFunc(t, func(t *asyncrt.Task) {
				if err := asyncrt.GoFunc(t, func() error { panic("in goroutine") }); err != nil {
					panic(err)
				}
			}, asyncrt.Named("closer")).Wait(t),
		}
	})
	assert.NoError(t, errs[0])
	assert.EqualError(t, errs[1], "disk")
	var pe *asyncrt.PanicError
	require.ErrorAs(t, errs[2], &pe)
	var inner *asyncrt.PanicError
	require.ErrorAs(t, pe.Value.(error), &inner)
	assert.Equal(t, "closer", inner.TaskName, "the goroutine's panic names the task that waited")
	assert.Equal(t, "in goroutine", inner.Value)
	msg := block(t, rt, func(t *asyncrt.Task) string {
		return panicMessage(func() { _ = asyncrt.GoFunc(t, nil) })
	})
	assert.Contains(t, msg, "GoFunc called with a nil function")
}
