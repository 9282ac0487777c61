package exchange_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/orrery-go/orrery/examples/trading/internal/exchange"
	"github.com/orrery-go/orrery/examples/trading/internal/soupbin"
)

// The order port keeps accepting after the process runs out of file
// descriptors (EMFILE): once descriptors are free again, the clients that
// queued in the backlog meanwhile are logged in — with no new connection
// arriving, which under the edge-triggered poller is what could leave them
// stranded — and then the next client.
func TestOrderPortSurvivesRunningOutOfDescriptors(t *testing.T) {
	const queued = 3
	acceptErrs := make(chan error, 64)
	r := start(t, func(c *exchange.Config) {
		for i := range queued + 1 {
			c.Users[fmt.Sprintf("U%d", i)] = "pw"
		}
		c.OnAcceptError = func(err error) {
			select {
			case acceptErrs <- err:
			default: // enough to go on: the test needs the first three
			}
		}
	})
	addr := r.x.OrderAddr()
	// Go's own poller must exist before the descriptors run out: the
	// clients' connections below are handed to it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, ln.Close())

	// The clients' sockets are made while descriptors are free: connecting
	// takes no new one, and the kernel queues a loopback connection in the
	// listener's backlog without waiting for the server's accept.
	var socks []int
	defer func() {
		for _, fd := range socks {
			assert.NoError(t, unix.Close(fd))
		}
	}()
	for range queued {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		require.NoError(t, err)
		socks = append(socks, fd)
	}

	var saved unix.Rlimit
	require.NoError(t, unix.Getrlimit(unix.RLIMIT_NOFILE, &saved))
	lowered := saved
	lowered.Cur = min(saved.Cur, 1024) // bounds the loop below
	require.NoError(t, unix.Setrlimit(unix.RLIMIT_NOFILE, &lowered))
	var fillers []int
	release := func() {
		for _, fd := range fillers {
			assert.NoError(t, unix.Close(fd))
		}
		fillers = nil
		assert.NoError(t, unix.Setrlimit(unix.RLIMIT_NOFILE, &saved))
	}
	defer release()
	for {
		fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			require.ErrorIs(t, err, unix.EMFILE)
			break
		}
		fillers = append(fillers, fd)
	}
	require.NotEmpty(t, fillers)
	to := &unix.SockaddrInet4{Port: int(addr.Port()), Addr: addr.Addr().As4()}
	for _, fd := range socks {
		require.NoError(t, unix.Connect(fd, to))
	}
	for range 3 { // the exchange failed, paused, and tried again
		select {
		case err := <-acceptErrs:
			assert.ErrorIs(t, err, unix.EMFILE, "the exchange could not take the connection")
		case <-time.After(10 * time.Second):
			t.Fatal("the exchange did not try to accept three times in 10 s")
		}
	}
	release()

	// No new connection: the exchange's next try takes the queued clients.
	for i := 0; len(socks) > 0; i++ {
		f := os.NewFile(uintptr(socks[0]), "client")
		socks = socks[1:]
		conn, err := net.FileConn(f) // a copy of the descriptor, on Go's poller
		require.NoError(t, errors.Join(err, f.Close()))
		t.Cleanup(func() { conn.Close() })
		require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
		c := &client{t: t, conn: conn, r: soupbin.NewReader(conn, 64<<10)}
		typ, _ := c.login(fmt.Sprintf("U%d", i), "pw", 0)
		assert.Equal(t, byte(soupbin.TypeLoginAccepted), typ, "a client who queued is logged in")
	}
	next := dial(t, addr) // and so is the next one
	typ, _ := next.login(fmt.Sprintf("U%d", queued), "pw", 0)
	assert.Equal(t, byte(soupbin.TypeLoginAccepted), typ)
	r.stop(t)
	st := r.x.Stats()
	assert.GreaterOrEqual(t, st.AcceptErrors, uint64(3))
	assert.Equal(t, uint64(queued+1), st.Logins)
}
