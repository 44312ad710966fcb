package handoff

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// liveEvent is what consoles receive over Server-Sent Events. It carries ids
// and statuses only, never customer text: the console fetches the ticket
// through the API, which checks who may see it.
type liveEvent struct {
	Type     string `json:"type"` // ticket, message, presence, typing
	TicketID uint64 `json:"ticket_id,omitempty"`
	Status   string `json:"status,omitempty"`
	AgentID  string `json:"agent_id,omitempty"`
	// From says who wrote a "message": customer or agent, so a console
	// notifies its agent of the customer's replies only.
	From string `json:"from,omitempty"`
}

// hub fans live events out to every open console stream.
type hub struct {
	mu     sync.Mutex
	subs   map[chan liveEvent]struct{}
	done   chan struct{}
	closed bool
	// changed is called after every event that may move the queue (all
	// but typing), for the customers' wait states (waitstate.go).
	changed func()
}

func (h *hub) onChange(fn func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.changed = fn
}

func newHub() *hub { return &hub{subs: map[chan liveEvent]struct{}{}, done: make(chan struct{})} }

func (h *hub) subscribe() chan liveEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := make(chan liveEvent, 64)
	h.subs[c] = struct{}{}
	return c
}

func (h *hub) unsubscribe(c chan liveEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, c)
}

// publish never blocks: a console too slow to drain 64 events misses some
// and resyncs on its next "ticket" event or its periodic refresh.
func (h *hub) publish(e liveEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.subs {
		select {
		case c <- e:
		default:
		}
	}
	if h.changed != nil && e.Type != "typing" {
		h.changed()
	}
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.closed = true
		close(h.done)
	}
}

// keepAlive is shorter than common proxy idle timeouts (60s).
const keepAlive = 25 * time.Second

// serveEvents streams live events to one console until the client leaves or
// the service closes. Open streams count as the agent being present.
func (s *Service) serveEvents(w http.ResponseWriter, r *http.Request, sess *session) {
	s.closeOnShutdown(r)
	rc := http.NewResponseController(w)
	// A stream outlives any server WriteTimeout; keep-alives detect dead peers.
	_ = rc.SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	c := s.hub.subscribe()
	defer s.hub.unsubscribe(c)
	s.presence.stream(sess.agentID, +1)
	defer s.presence.stream(sess.agentID, -1)
	s.hub.publish(liveEvent{Type: "presence", AgentID: sess.agentID})
	fmt.Fprint(w, "retry: 2000\n\n")
	if err := rc.Flush(); err != nil {
		return
	}
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.hub.done:
			return
		case <-tick.C:
			if !s.sessions.valid(sess.token) {
				return // logged out or expired: stop streaming
			}
			fmt.Fprint(w, ": ping\n\n")
		case e := <-c:
			b, _ := json.Marshal(e)
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.Type, b)
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// closeOnShutdown ends the live streams when the http.Server serving r shuts
// down. Server.Shutdown waits for every active request to return, and a
// console's stream never returns on its own: with browsers connected,
// parley serve spent its whole shutdown budget (15 s) waiting for them,
// since Service.Close ran only after Shutdown. Registered once per server.
func (s *Service) closeOnShutdown(r *http.Request) {
	srv, ok := r.Context().Value(http.ServerContextKey).(*http.Server)
	if !ok {
		return
	}
	if _, seen := s.shutdownHooks.LoadOrStore(srv, struct{}{}); !seen {
		srv.RegisterOnShutdown(func() { s.Close() })
	}
}
