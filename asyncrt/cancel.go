package asyncrt

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
)

// CancellationToken is a cancellation signal shared by tasks (of any
// runtime) and goroutines. Cancelling a token cancels every token derived
// from it with Child; cancelling a child leaves its parent alone. Its
// methods are safe for concurrent use.
type CancellationToken struct {
	cancelled atomic.Bool
	mu        sync.Mutex
	parent    *CancellationToken
	children  map[*CancellationToken]uint64 // the order each was made in
	nextChild uint64
	waiters   SharedWaitQueue
	ctx       context.Context
	ctxCancel context.CancelFunc
}

// NewCancellationToken returns a token that is not cancelled.
func NewCancellationToken() *CancellationToken { return &CancellationToken{} }

// Child returns a token cancelled together with c (and on its own by its
// own Cancel). The child of a cancelled token is born cancelled.
func (c *CancellationToken) Child() *CancellationToken {
	child := &CancellationToken{parent: c}
	c.mu.Lock()
	if c.cancelled.Load() {
		c.mu.Unlock()
		child.cancelled.Store(true)
		return child
	}
	if c.children == nil {
		c.children = make(map[*CancellationToken]uint64)
	}
	c.nextChild++
	c.children[child] = c.nextChild
	c.mu.Unlock()
	return child
}

// Cancel cancels the token and all its descendants, waking the tasks that
// wait on them and cancelling their contexts. Cancelling twice is harmless.
func (c *CancellationToken) Cancel() {
	if c.cancelled.Load() {
		return
	}
	if p := c.parent; p != nil {
		p.mu.Lock()
		delete(p.children, c)
		p.mu.Unlock()
	}
	// Iteratively, so that a deep tree cannot exhaust the stack.
	stack := []*CancellationToken{c}
	for len(stack) > 0 {
		tok := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		tok.mu.Lock()
		if tok.cancelled.Swap(true) {
			tok.mu.Unlock()
			continue
		}
		// Children in the order they were made, last on top of the stack
		// (so the first is cancelled first): the waiters wake in the same
		// order on every run, as a deterministic simulation needs.
		kids := make([]*CancellationToken, 0, len(tok.children))
		for child := range tok.children {
			kids = append(kids, child)
		}
		slices.SortFunc(kids, func(a, b *CancellationToken) int { return cmpU64(tok.children[b], tok.children[a]) })
		stack = append(stack, kids...)
		tok.children = nil
		cancel := tok.ctxCancel
		tok.mu.Unlock()
		if cancel != nil {
			cancel()
		}
		tok.waiters.WakeAll()
	}
}

// IsCancelled reports whether the token has been cancelled.
func (c *CancellationToken) IsCancelled() bool { return c.cancelled.Load() }

// Cancelled suspends t until the token is cancelled; it returns at once if it
// is. A task waiting here keeps its runtime from reporting a deadlock: any
// goroutine may cancel the token.
func (c *CancellationToken) Cancelled(t *Task) {
	t.check("CancellationToken.Cancelled")
	if c.cancelled.Load() {
		return
	}
	w := c.register(t)
	for !c.cancelled.Load() {
		t.waitRegs()
	}
	w.Release()
}

// register registers t to be woken when the token is cancelled; if it
// already is, the registration comes back woken.
func (c *CancellationToken) register(t *Task) Waiter {
	w := c.waiters.Enqueue(t)
	if c.cancelled.Load() {
		// Cancelled before the registration was in: Cancel may have woken
		// the queue already.
		t.rt.wakeNode(w.n)
	}
	return w
}

// Context returns a context.Context cancelled together with the token, for
// Go libraries that take one. It is made on first use.
func (c *CancellationToken) Context() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx == nil {
		c.ctx, c.ctxCancel = context.WithCancel(context.Background())
		if c.cancelled.Load() {
			c.ctxCancel()
		}
	}
	return c.ctx
}
