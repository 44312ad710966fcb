package handoff

import (
	"sync"
	"time"
)

// Presence states an agent sets in the console.
const (
	PresenceOnline  = "online"
	PresenceAway    = "away"
	PresenceOffline = "offline"
)

// presence is in memory on purpose: after a restart nobody is online until
// their console reconnects, which is the truth.
type presence struct {
	mu    sync.Mutex
	ttl   time.Duration
	now   func() time.Time
	state map[string]*agentPresence
}

type agentPresence struct {
	status   string
	lastSeen time.Time
	streams  int // open live-update connections keep the agent present
}

func newPresence(ttl time.Duration, now func() time.Time) *presence {
	return &presence{ttl: ttl, now: now, state: map[string]*agentPresence{}}
}

func (p *presence) get(id string) *agentPresence {
	ap := p.state[id]
	if ap == nil {
		ap = &agentPresence{status: PresenceOffline}
		p.state[id] = ap
	}
	return ap
}

// set records the status an agent chose.
func (p *presence) set(id, status string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ap := p.get(id)
	ap.status, ap.lastSeen = status, p.now()
}

// seen refreshes an agent's last activity (any API call).
func (p *presence) seen(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.get(id).lastSeen = p.now()
}

// stream counts an open live-update connection (+1) or its end (-1).
func (p *presence) stream(id string, delta int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ap := p.get(id)
	ap.streams += delta
	ap.lastSeen = p.now()
}

func (p *presence) drop(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.state, id)
}

func (p *presence) live(ap *agentPresence) bool {
	return ap.streams > 0 || p.now().Sub(ap.lastSeen) < p.ttl
}

// status is what the console shows: the chosen status, or offline when the
// agent's console is gone.
func (p *presence) status(id string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	ap, ok := p.state[id]
	if !ok || !p.live(ap) {
		return PresenceOffline
	}
	return ap.status
}

func (p *presence) isOnline(id string) bool { return p.status(id) == PresenceOnline }

// online lists the agents that are online and present.
func (p *presence) online() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for id, ap := range p.state {
		if ap.status == PresenceOnline && p.live(ap) {
			out = append(out, id)
		}
	}
	return out
}
