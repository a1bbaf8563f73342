package site

import (
	"container/list"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter is a token bucket per client address, over at most max addresses: when a new address
// comes and the map is full, the address seen least recently is forgotten (it starts again with a
// full bucket, which only ever errs towards letting a request through).
type limiter struct {
	rate  rate.Limit
	burst int
	max   int

	mu    sync.Mutex
	order *list.List // of *bucket, most recently seen first
	byKey map[string]*list.Element
}

type bucket struct {
	key string
	lim *rate.Limiter
}

// newLimiter returns a limiter of perSecond requests with bursts of burst; a negative perSecond
// means no limit.
func newLimiter(perSecond float64, burst, max int) *limiter {
	return &limiter{rate: rate.Limit(perSecond), burst: burst, max: max, order: list.New(), byKey: map[string]*list.Element{}}
}

// allow reports whether key may make a request at now.
func (l *limiter) allow(key string, now time.Time) bool {
	if l.rate < 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.byKey[key]
	if ok {
		l.order.MoveToFront(e)
	} else {
		if l.order.Len() >= l.max {
			last := l.order.Back()
			l.order.Remove(last)
			delete(l.byKey, last.Value.(*bucket).key)
		}
		e = l.order.PushFront(&bucket{key: key, lim: rate.NewLimiter(l.rate, l.burst)})
		l.byKey[key] = e
	}
	return e.Value.(*bucket).lim.AllowN(now, 1)
}

// len returns the number of addresses tracked.
func (l *limiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.order.Len()
}
