package telegram

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// chatLimiters holds one token bucket per chat. Buckets idle long enough to
// have refilled completely are dropped: a fresh bucket is full too, so
// forgetting them loses nothing and the map tracks only recently active
// chats.
type chatLimiters struct {
	mu        sync.Mutex
	private   rate.Limit
	group     rate.Limit
	burst     int
	idle      time.Duration // after this long unused a bucket is full again
	lastSweep time.Time
	m         map[int64]*chatLimiter
	now       func() time.Time
}

type chatLimiter struct {
	lim  *rate.Limiter
	used time.Time
	// wrote says the customer wrote and has had no reply since: the next
	// send to the chat is a turn's first reply (gate priority).
	wrote bool
}

// groupRate is Telegram's limit for groups: 20 messages a minute.
const groupRate = rate.Limit(20.0 / 60.0)

func newChatLimiters(perChat rate.Limit, burst int) *chatLimiters {
	group := min(perChat, groupRate)
	// The slowest bucket refills last; a minute at least keeps sweeps rare.
	idle := max(time.Minute, time.Duration(float64(burst)/float64(group)*float64(time.Second))+time.Second)
	return &chatLimiters{private: perChat, group: group, burst: burst, idle: idle,
		m: map[int64]*chatLimiter{}, now: time.Now}
}

// get returns the chat's limiter. Negative ids are groups and channels.
func (c *chatLimiters) get(chatID int64) *rate.Limiter {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entry(chatID).lim
}

// wrote records that the chat's customer wrote: called before the update
// is handed on, since the runtime may answer before the handler returns.
func (c *chatLimiters) wrote(chatID int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entry(chatID).wrote = true
}

// takeFirst reports whether a send to the chat is the first since its
// customer wrote, and makes the next one a follow-up.
func (c *chatLimiters) takeFirst(chatID int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.entry(chatID)
	first := l.wrote
	l.wrote = false
	return first
}

// entry returns the chat's state, made on first use. c.mu is held.
func (c *chatLimiters) entry(chatID int64) *chatLimiter {
	now := c.now()
	if now.Sub(c.lastSweep) >= c.idle {
		c.sweep(now)
	}
	l, ok := c.m[chatID]
	if !ok {
		r := c.private
		if chatID < 0 {
			r = c.group
		}
		l = &chatLimiter{lim: rate.NewLimiter(r, c.burst)}
		c.m[chatID] = l
	}
	l.used = now
	return l
}

func (c *chatLimiters) sweep(now time.Time) {
	c.lastSweep = now
	for id, l := range c.m {
		if now.Sub(l.used) >= c.idle {
			delete(c.m, id)
		}
	}
}

func (c *chatLimiters) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
