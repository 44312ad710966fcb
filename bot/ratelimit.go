package bot

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// floodGuard limits how many messages per contact the runtime runs through
// the flow engine. Messages over the limit are still recorded (acknowledged,
// in the history, visible to agents) but not answered, so one customer
// pasting a thousand lines cannot occupy the bot or the queue.
type floodGuard struct {
	every time.Duration
	burst int
	mu    sync.Mutex
	lims  map[string]*guarded
	swept time.Time
}

type guarded struct {
	lim  *rate.Limiter
	seen time.Time
}

func newFloodGuard(perSecond float64, burst int) *floodGuard {
	if perSecond <= 0 {
		return nil
	}
	return &floodGuard{every: time.Duration(float64(time.Second) / perSecond), burst: burst, lims: map[string]*guarded{}}
}

// allow reports whether key may send one more message at now, and a func
// that gives the token back (for a redelivered event that turns out to be a
// duplicate: it must not count twice).
func (g *floodGuard) allow(key string, now time.Time) (bool, func()) {
	if g == nil {
		return true, func() {}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	l, ok := g.lims[key]
	if !ok {
		l = &guarded{lim: rate.NewLimiter(rate.Every(g.every), g.burst)}
		g.lims[key] = l
	}
	l.seen = now
	res := l.lim.ReserveN(now, 1)
	g.sweep(now)
	if !res.OK() || res.DelayFrom(now) > 0 {
		res.CancelAt(now)
		return false, func() {}
	}
	return true, func() { res.CancelAt(now) }
}

// sweep forgets limiters idle long enough to be full again: forgetting them
// changes nothing, and the map stays as small as the set of active contacts.
func (g *floodGuard) sweep(now time.Time) {
	idle := g.every * time.Duration(g.burst)
	if now.Sub(g.swept) < idle || len(g.lims) < 1024 {
		return
	}
	g.swept = now
	for k, l := range g.lims {
		if now.Sub(l.seen) > idle {
			delete(g.lims, k)
		}
	}
}
