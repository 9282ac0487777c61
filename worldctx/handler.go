package worldctx

import (
	"fmt"

	"github.com/orrery-go/orrery/world"
)

// The handlers below dispatch an event of type E to a function together with
// up to four of the World's resources. The resources are looked up when the
// handler is made and kept as pointers, so Run is a direct call: no map, no
// type assertion, no allocation. If resources are added or removed later
// (world.AddResource, RemoveResource, Reset), the next Run looks them up
// again, and panics, naming the type, if one is gone.

// handlerBase tracks the World a handler resolved its resources in.
type handlerBase struct {
	w     *world.World
	epoch uint64
}

func (b *handlerBase) stale() bool { return b.w.ResourceEpoch() != b.epoch }

func resolve[T any](w *world.World) (*T, error) {
	r, err := world.RequireResource[T](w)
	if err != nil {
		return nil, fmt.Errorf("worldctx: building a handler: %w", err)
	}
	return r, nil
}

func mustResolve[T any](w *world.World) *T {
	r, err := world.RequireResource[T](w)
	if err != nil {
		panic(fmt.Sprintf("worldctx: a handler's resource was removed: %v", err))
	}
	return r
}

// Handler1 dispatches events of type E with resource A.
type Handler1[E, A any] struct {
	handlerBase
	a  *A
	fn func(E, *A)
}

// NewHandler1 resolves resource A and returns a handler calling fn.
func NewHandler1[E, A any](c Ctx, fn func(e E, a *A)) (*Handler1[E, A], error) {
	if fn == nil {
		return nil, fmt.Errorf("worldctx: NewHandler1 with a nil function")
	}
	h := &Handler1[E, A]{handlerBase: handlerBase{w: c.w}, fn: fn}
	if err := h.resolve(); err != nil {
		return nil, err
	}
	return h, nil
}

func (h *Handler1[E, A]) resolve() (err error) {
	h.epoch = h.w.ResourceEpoch()
	h.a, err = resolve[A](h.w)
	return err
}

// Run dispatches e.
func (h *Handler1[E, A]) Run(e E) {
	if h.stale() {
		h.epoch, h.a = h.w.ResourceEpoch(), mustResolve[A](h.w)
	}
	h.fn(e, h.a)
}

// Handler2 dispatches events of type E with resources A and B.
type Handler2[E, A, B any] struct {
	handlerBase
	a  *A
	b  *B
	fn func(E, *A, *B)
}

// NewHandler2 resolves resources A and B and returns a handler calling fn.
func NewHandler2[E, A, B any](c Ctx, fn func(e E, a *A, b *B)) (*Handler2[E, A, B], error) {
	if fn == nil {
		return nil, fmt.Errorf("worldctx: NewHandler2 with a nil function")
	}
	h := &Handler2[E, A, B]{handlerBase: handlerBase{w: c.w}, fn: fn}
	if err := h.resolve(); err != nil {
		return nil, err
	}
	return h, nil
}

func (h *Handler2[E, A, B]) resolve() (err error) {
	h.epoch = h.w.ResourceEpoch()
	if h.a, err = resolve[A](h.w); err != nil {
		return err
	}
	h.b, err = resolve[B](h.w)
	return err
}

// Run dispatches e.
func (h *Handler2[E, A, B]) Run(e E) {
	if h.stale() {
		h.epoch, h.a, h.b = h.w.ResourceEpoch(), mustResolve[A](h.w), mustResolve[B](h.w)
	}
	h.fn(e, h.a, h.b)
}

// Handler3 dispatches events of type E with resources A, B and C.
type Handler3[E, A, B, C any] struct {
	handlerBase
	a  *A
	b  *B
	c  *C
	fn func(E, *A, *B, *C)
}

// NewHandler3 resolves resources A, B and C and returns a handler calling
// fn.
func NewHandler3[E, A, B, C any](c Ctx, fn func(e E, a *A, b *B, c *C)) (*Handler3[E, A, B, C], error) {
	if fn == nil {
		return nil, fmt.Errorf("worldctx: NewHandler3 with a nil function")
	}
	h := &Handler3[E, A, B, C]{handlerBase: handlerBase{w: c.w}, fn: fn}
	if err := h.resolve(); err != nil {
		return nil, err
	}
	return h, nil
}

func (h *Handler3[E, A, B, C]) resolve() (err error) {
	h.epoch = h.w.ResourceEpoch()
	if h.a, err = resolve[A](h.w); err != nil {
		return err
	}
	if h.b, err = resolve[B](h.w); err != nil {
		return err
	}
	h.c, err = resolve[C](h.w)
	return err
}

// Run dispatches e.
func (h *Handler3[E, A, B, C]) Run(e E) {
	if h.stale() {
		h.epoch = h.w.ResourceEpoch()
		h.a, h.b, h.c = mustResolve[A](h.w), mustResolve[B](h.w), mustResolve[C](h.w)
	}
	h.fn(e, h.a, h.b, h.c)
}

// Handler4 dispatches events of type E with resources A, B, C and D.
type Handler4[E, A, B, C, D any] struct {
	handlerBase
	a  *A
	b  *B
	c  *C
	d  *D
	fn func(E, *A, *B, *C, *D)
}

// NewHandler4 resolves resources A, B, C and D and returns a handler calling
// fn.
func NewHandler4[E, A, B, C, D any](c Ctx, fn func(e E, a *A, b *B, c *C, d *D)) (*Handler4[E, A, B, C, D], error) {
	if fn == nil {
		return nil, fmt.Errorf("worldctx: NewHandler4 with a nil function")
	}
	h := &Handler4[E, A, B, C, D]{handlerBase: handlerBase{w: c.w}, fn: fn}
	if err := h.resolve(); err != nil {
		return nil, err
	}
	return h, nil
}

func (h *Handler4[E, A, B, C, D]) resolve() (err error) {
	h.epoch = h.w.ResourceEpoch()
	if h.a, err = resolve[A](h.w); err != nil {
		return err
	}
	if h.b, err = resolve[B](h.w); err != nil {
		return err
	}
	if h.c, err = resolve[C](h.w); err != nil {
		return err
	}
	h.d, err = resolve[D](h.w)
	return err
}

// Run dispatches e.
func (h *Handler4[E, A, B, C, D]) Run(e E) {
	if h.stale() {
		h.epoch = h.w.ResourceEpoch()
		h.a, h.b, h.c, h.d = mustResolve[A](h.w), mustResolve[B](h.w), mustResolve[C](h.w), mustResolve[D](h.w)
	}
	h.fn(e, h.a, h.b, h.c, h.d)
}
