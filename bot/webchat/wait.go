package webchat

import (
	"context"
	"time"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/internal/jsonx"
)

// Queue states of the "queue" frame: where the visitor's conversation
// stands while a person is involved. The widget's header shows it.
const (
	QueueBot    = "bot"    // the bot answers
	QueueQueued = "queued" // waiting for a person
	QueueAgent  = "agent"  // a person answers
)

// QueueState is what the widget's header says about the visitor's wait.
type QueueState struct {
	State string // QueueBot, QueueQueued or QueueAgent
	// Position (queued) is 1 for the next to be taken; WaitMinutes the
	// expected wait, 0 for none.
	Position, WaitMinutes int
	// Agent (agent) is the name the visitor sees.
	Agent string
	// ReadUntil (agent): the agent has read the visitor's messages up to
	// this time; the widget marks them read. Zero for none.
	ReadUntil time.Time
}

// SeenReporter is a Waiting that also wants to know when the visitor has
// seen the agent's replies: the widget says so (a "seen" frame) when a
// reply is on screen in a visible tab, at most once per reply.
type SeenReporter interface {
	VisitorSeen(ctx context.Context, visitor channel.Address)
}

// Waiting is what the web chat needs from the human queue; cmd wires the
// handoff service behind it.
type Waiting interface {
	// QueueState is the state of the visitor's conversation, sent when a
	// widget connects (a QueueBot state is not sent: it is the widget's
	// own starting state).
	QueueState(ctx context.Context, visitor channel.Address) (QueueState, error)
	// VisitorTyping reports that the visitor is typing (at most once every
	// typingEvery per connection), for the agent's console.
	VisitorTyping(ctx context.Context, visitor channel.Address)
}

// typingEvery is how often one connection's "typing" frames are passed on;
// the widget sends them no more often.
const typingEvery = 2 * time.Second

// SetWaiting makes the widgets show the human queue: the queue state on
// connect, the visitor's typing passed to w. Call it before serving.
func (a *Adapter) SetWaiting(w Waiting) { a.waiting = w }

// SendQueueState pushes the visitor's queue state to their open tabs (the
// handoff side calls it on every change). A visitor with no open tab gets
// it on connect.
func (a *Adapter) SendQueueState(ctx context.Context, visitorID string, s QueueState) {
	a.broadcast(ctx, visitorID, nil, queueJSON(s))
}

// SendAgentTyping shows "<agent> is typing" in the visitor's open tabs.
func (a *Adapter) SendAgentTyping(ctx context.Context, visitorID, agent string) {
	b := jsonx.AppendField(make([]byte, 0, 32+len(agent)), `{"type":"typing","sender":`, agent)
	a.broadcast(ctx, visitorID, nil, append(b, '}'))
}

// queueJSON is the "queue" frame of s.
func queueJSON(s QueueState) []byte {
	f := queueFrame{Type: "queue", State: s.State, Position: s.Position, Wait: s.WaitMinutes, Agent: s.Agent}
	if !s.ReadUntil.IsZero() {
		f.ReadUntil = s.ReadUntil.UTC().Format(time.RFC3339Nano)
	}
	return mustJSON(f)
}

type queueFrame struct {
	Type      string `json:"type"`
	State     string `json:"state"`
	Position  int    `json:"position,omitempty"`
	Wait      int    `json:"wait,omitempty"` // minutes
	Agent     string `json:"agent,omitempty"`
	ReadUntil string `json:"read_until,omitempty"` // RFC 3339
}

// sendQueueState sends a connecting widget its queue state, if a person is
// involved.
func (a *Adapter) sendQueueState(ctx context.Context, c *conn) {
	if a.waiting == nil {
		return
	}
	s, err := a.waiting.QueueState(ctx, a.address(c))
	if err != nil {
		a.log.Warn().Err(err).Str("visitor", c.visitor).Msg("webchat: queue state not sent")
		return
	}
	if s.State != "" && s.State != QueueBot {
		c.write(ctx, queueJSON(s))
	}
}

// visitorTyping passes the visitor's typing on, throttled per connection.
func (a *Adapter) visitorTyping(ctx context.Context, c *conn) {
	now := time.Now()
	if a.waiting == nil || now.Sub(c.typedAt) < typingEvery {
		return
	}
	c.typedAt = now
	a.waiting.VisitorTyping(ctx, a.address(c))
}

// visitorSeen passes on that the visitor saw the agent's replies,
// throttled per connection like typing.
func (a *Adapter) visitorSeen(ctx context.Context, c *conn) {
	sr, ok := a.waiting.(SeenReporter)
	now := time.Now()
	if !ok || now.Sub(c.seenAt) < typingEvery {
		return
	}
	c.seenAt = now
	sr.VisitorSeen(ctx, a.address(c))
}
