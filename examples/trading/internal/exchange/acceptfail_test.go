package exchange_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/orrery-go/orrery/examples/internal/lowfd"
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
	clients := lowfd.NewClients(t, queued)
	release := lowfd.Exhaust(t)
	clients.Connect(addr)
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
	for i, conn := range clients.Adopt() {
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
