package asyncrt_test

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/orrery-go/orrery/asyncrt"
)

// semaphore is a counting semaphore written outside package asyncrt, with
// its exported waiting layer alone: the shape of any source of your own.
type semaphore struct {
	permits int
	waiters asyncrt.WaitQueue
}

// acquire takes a permit, waiting in FIFO order while there is none. A wake
// the queue hands out (WakeOne) promises a permit to the woken task, so a
// newcomer takes one only if there are more permits than promises.
func (s *semaphore) acquire(t *asyncrt.Task) {
	if s.permits > s.waiters.Woken() {
		s.permits--
		return
	}
	w := t.Enqueue(&s.waiters)
	for !(w.Woken() && s.permits > 0) {
		t.Wait() // if the task is aborted here, the runtime cancels w and its wake passes on
	}
	w.Release()
	s.permits--
}

func (s *semaphore) release() {
	s.permits++
	s.waiters.WakeOne()
}

// A counting semaphore built on WaitQueue: three workers share one permit
// and take turns in the order they asked.
func ExampleWaitQueue() {
	rt, _ := asyncrt.New()
	defer rt.Close()
	_, _ = asyncrt.BlockOn(rt, func(t *asyncrt.Task) int {
		sem := &semaphore{permits: 1}
		var hs []asyncrt.JoinHandle[int]
		for i := range 3 {
			hs = append(hs, asyncrt.Spawn(t, func(t *asyncrt.Task) int {
				sem.acquire(t)
				defer sem.release()
				fmt.Println("worker", i, "has the permit")
				t.Yield() // hold it across a suspension point
				return i
			}))
		}
		for _, h := range hs {
			_, _ = h.Await(t)
		}
		return 0
	})
	// Output:
	// worker 0 has the permit
	// worker 1 has the permit
	// worker 2 has the permit
}

// Any non-blocking descriptor can be waited on: here an eventfd that a
// goroutine signals. Package socket's TCP and UDP use the same API.
func ExampleRegisterFD() {
	rt, _ := asyncrt.New()
	defer rt.Close()
	v, err := asyncrt.BlockOn(rt, func(t *asyncrt.Task) uint64 {
		efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
		if err != nil {
			panic(err)
		}
		fd, err := asyncrt.RegisterFD(t, efd)
		if err != nil {
			panic(err)
		}
		defer fd.Close()
		go func() { // another goroutine adds 42 to the counter
			var b [8]byte
			binary.NativeEndian.PutUint64(b[:], 42)
			_, _ = unix.Write(efd, b[:])
		}()
		var b [8]byte
		for {
			_, err := unix.Read(fd.Fd(), b[:])
			if err == unix.EAGAIN {
				fd.ClearReadable()
				if err := fd.WaitReadable(t); err != nil { // suspends the task, not the thread
					panic(err)
				}
				continue
			}
			if err != nil {
				panic(err)
			}
			return binary.NativeEndian.Uint64(b[:])
		}
	})
	fmt.Println(v, err)
	// Output: 42 <nil>
}
