package ingest

import (
	"net"
	"sync"
)

// Causes of a refused connection (the label of
// govpulse_ingest_connections_refused_total).
const (
	refusedMaxConns        = "max_conns"
	refusedMaxConnsPerAddr = "max_conns_per_addr"
)

// limitListener caps the open connections of a listener, in total and per
// client address (the remote IP, without the port). A connection over a cap
// is closed as soon as it is accepted and counted; Accept then waits for the
// next one. It is safe for concurrent use.
type limitListener struct {
	net.Listener
	max, perAddr int // perAddr < 0: no cap per address
	m            *metrics

	mu     sync.Mutex
	open   int
	byAddr map[string]int // at most max entries: one per address with open connections
}

func newLimitListener(ln net.Listener, max, perAddr int, m *metrics) *limitListener {
	return &limitListener{Listener: ln, max: max, perAddr: perAddr, m: m, byAddr: make(map[string]int)}
}

// Accept returns the next connection within the caps.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr := remoteHost(c.RemoteAddr())
		if cause := l.admit(addr); cause != "" {
			l.m.connsRefused.WithLabelValues(cause).Inc()
			_ = c.Close()
			continue
		}
		return &limitedConn{Conn: c, l: l, addr: addr}, nil
	}
}

// admit counts a new connection from addr, or returns the cap it would
// exceed.
func (l *limitListener) admit(addr string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.open >= l.max:
		return refusedMaxConns
	case l.perAddr >= 0 && l.byAddr[addr] >= l.perAddr:
		return refusedMaxConnsPerAddr
	}
	l.open++
	l.byAddr[addr]++
	l.m.connsOpen.Inc()
	return ""
}

// release forgets a closed connection from addr.
func (l *limitListener) release(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.byAddr[addr]--; l.byAddr[addr] <= 0 {
		delete(l.byAddr, addr)
	}
	l.m.connsOpen.Dec()
}

// limitedConn releases its place in the listener once, on the first Close.
type limitedConn struct {
	net.Conn
	l    *limitListener
	addr string
	once sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.addr) })
	return err
}

// remoteHost returns the IP of a remote address (the whole address when it
// has no port).
func remoteHost(a net.Addr) string {
	if tcp, ok := a.(*net.TCPAddr); ok {
		return tcp.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}
