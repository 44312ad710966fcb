package analytics

import (
	"slices"
	"strconv"
	"time"

	"github.com/parley-chat/parley/store"
)

// Outcomes of a conversation (see the package documentation).
const (
	OutcomeOpen      = "open"
	OutcomeContained = "contained"
	OutcomeHandedOff = "handed_off"
	OutcomeAbandoned = "abandoned"
	OutcomeReturned  = "returned"
)

// Event types read from the log. The runtime, the flow engine and handoff
// write them; the names are their contract with this package.
const (
	evMessageIn   = "message_in"
	evMessageOut  = "message_out"
	evNode        = "node"
	evFallback    = "fallback"
	evError       = "error"
	evHandoff     = "handoff_requested"
	evEnd         = "conversation_end"
	evTicketOpen  = "ticket.queued"
	evTicketAgain = "ticket.reopened"
	evTicketDone  = "ticket.resolved"
	evCSATSkipped = "ticket.csat_skipped"
	evCSAT        = "ticket.csat" // {ticket, score, comment}
)

type nodeKey struct{ flow, node string }

// NodeRef names a node of a flow.
type NodeRef struct{ Flow, Node string }

// conversation is what the report needs of one conversation; the events
// themselves are not kept, so a long log costs memory per conversation,
// not per event.
type conversation struct {
	contact     string
	start, last time.Time
	channel     string
	lang        string
	flows       []string // in the order first entered
	entered     map[nodeKey]bool
	lastNode    nodeKey
	hasNode     bool
	fallbacks   map[nodeKey]int
	handoffAt   map[nodeKey]int // handoffs requested right after entering the node
	in, out     int
	botTurns    int
	nFallbacks  int
	handoff     bool
	reason      string
	ended       bool // reached an end node
	lastFailed  bool // the bot did not understand the last customer message
	returned    bool // a new conversation followed an end within Idle
	outcome     string
	// standing is the outcome an open conversation would have if the
	// customer wrote nothing more (the provisional figures); for a decided
	// one it equals outcome.
	standing string
	tickets  []uint64 // opened or reopened in it, for the agent filter
}

// contactState follows one contact through the log.
type contactState struct {
	cur        *conversation
	ticketOpen bool // a ticket holds the conversation: messages are not bot turns
	// csatAsked: the ticket was resolved with a CSAT question, so the next
	// message is the rating (not a bot turn) unless handoff records it as
	// skipped; inPending says that message is still uncounted.
	csatAsked, inPending bool
	// inCounted: the previous event was a customer message counted as a
	// bot turn; a ticket.reopened right after it takes the turn back (the
	// message went to the reopened ticket, in the same store turn).
	inCounted bool
	lastEnded *conversation // its last conversation closed by an end node
}

// segmenter cuts the time-ordered event log into conversations.
type segmenter struct {
	idle     time.Duration
	contacts map[string]*contactState
	convs    []*conversation
	// byTicket finds the conversation a ticket was opened in, and the
	// reason it was opened for (a reopened ticket keeps its reason).
	byTicket     map[uint64]*conversation
	ticketReason map[uint64]string
	comments     []csatComment
}

// csatComment is a sentence a customer added to a CSAT rating; handoff
// writes it as the "comment" of the ticket.csat event.
type csatComment struct {
	at     time.Time
	ticket uint64
	score  int
	text   string
}

func newSegmenter(idle time.Duration) *segmenter {
	return &segmenter{idle: idle, contacts: map[string]*contactState{},
		byTicket: map[uint64]*conversation{}, ticketReason: map[uint64]string{}}
}

func (s *segmenter) add(e store.Event) error {
	if e.ContactID == "" {
		return nil
	}
	cs := s.contacts[e.ContactID]
	if cs == nil {
		cs = &contactState{}
		s.contacts[e.ContactID] = cs
	}
	if c := cs.cur; c != nil && e.At.Sub(c.last) >= s.idle {
		cs.cur = nil // closed by silence
	}
	c := cs.cur
	if c == nil {
		if e.Type != evMessageIn {
			s.orphan(cs, e)
			return nil
		}
		c = &conversation{contact: e.ContactID, start: e.At, entered: map[nodeKey]bool{},
			fallbacks: map[nodeKey]int{}, handoffAt: map[nodeKey]int{}}
		if prev := cs.lastEnded; prev != nil && e.At.Sub(prev.last) < s.idle {
			prev.returned = true
		}
		cs.lastEnded = nil
		cs.cur = c
		s.convs = append(s.convs, c)
	}
	c.last = e.At
	inCounted := cs.inCounted
	cs.inCounted = false
	switch e.Type {
	case evMessageIn:
		c.in++
		if c.channel == "" {
			c.channel = e.Data["channel"]
		}
		if l := e.Data["lang"]; l != "" {
			c.lang = l
		}
		cs.inPending = false
		switch {
		case cs.csatAsked:
			cs.csatAsked, cs.inPending = false, true
		case !cs.ticketOpen:
			c.botTurns++
			c.lastFailed = false
			cs.inCounted = true
		}
	case evMessageOut:
		c.out++
	case evNode:
		k := nodeKey{e.Flow, e.Node}
		if !c.hasFlow(e.Flow) {
			c.flows = append(c.flows, e.Flow)
		}
		c.entered[k] = true
		c.lastNode, c.hasNode = k, true
	case evFallback:
		c.nFallbacks++
		c.fallbacks[nodeKey{e.Flow, e.Node}]++
		c.lastFailed = true
	case evError:
		c.lastFailed = true
	case evHandoff:
		c.markHandoff(e.Data["reason"])
		if c.hasNode {
			c.handoffAt[c.lastNode]++
		}
		cs.ticketOpen = true
	case evTicketOpen, evTicketAgain:
		id, ok := ticketID(e)
		reason := e.Data["reason"]
		if ok {
			if reason == "" {
				reason = s.ticketReason[id]
			} else {
				s.ticketReason[id] = reason
			}
			if _, seen := s.byTicket[id]; !seen {
				s.byTicket[id] = c
			}
			if !slices.Contains(c.tickets, id) {
				c.tickets = append(c.tickets, id)
			}
		}
		if reason == "" {
			reason = "reopened"
		}
		if e.Type == evTicketAgain && inCounted {
			c.botTurns--
		}
		c.markHandoff(reason)
		cs.ticketOpen = true
	case evTicketDone:
		cs.ticketOpen = false
		cs.csatAsked = e.Data["outcome"] == "csat"
	case evCSAT:
		if t := e.Data["comment"]; t != "" {
			id, _ := ticketID(e)
			score, _ := strconv.Atoi(e.Data["score"])
			s.comments = append(s.comments, csatComment{at: e.At, ticket: id, score: score, text: t})
		}
	case evCSATSkipped:
		if cs.inPending { // not a rating: the bot handled that message
			cs.inPending = false
			c.botTurns++
			c.lastFailed = false
		}
	case evEnd:
		c.ended = true
		cs.cur, cs.lastEnded = nil, c
	}
	return nil
}

// orphan keeps the ticket state of a contact right when its events come
// outside a conversation (an agent resolving a ticket days later).
func (s *segmenter) orphan(cs *contactState, e store.Event) {
	switch e.Type {
	case evTicketDone:
		cs.ticketOpen = false
		cs.csatAsked = e.Data["outcome"] == "csat"
	case evTicketOpen, evTicketAgain:
		cs.ticketOpen = true
		if id, ok := ticketID(e); ok && e.Data["reason"] != "" {
			s.ticketReason[id] = e.Data["reason"]
		}
	}
}

// finish gives every conversation its outcome; dataEnd is the present of
// the data: a conversation silent for less than Idle there may still go on.
// questions are the nodes at which the bot waits for an answer.
func (s *segmenter) finish(dataEnd time.Time, questions map[NodeRef]bool) {
	for _, c := range s.convs {
		c.standing = c.classify(questions)
		c.outcome = c.standing
		if !c.decided() && dataEnd.Before(c.last.Add(s.idle)) {
			c.outcome = OutcomeOpen
		}
	}
}

// decided reports whether nothing the customer does later can change the
// outcome: a handoff, or an end node the flow reached (a return within
// Idle still turns contained into returned, see the package doc).
func (c *conversation) decided() bool { return c.handoff || c.ended }

// classify is the outcome of the conversation as its events stand.
func (c *conversation) classify(questions map[NodeRef]bool) string {
	switch {
	case c.handoff:
		return OutcomeHandedOff
	case c.lastFailed:
		return OutcomeAbandoned
	case c.ended && c.returned:
		return OutcomeReturned
	case c.ended:
		return OutcomeContained
	case c.hasNode && questions[NodeRef{c.lastNode.flow, c.lastNode.node}]:
		// Left while the bot waited for an answer (an order number):
		// the bot did not settle it.
		return OutcomeAbandoned
	default:
		return OutcomeContained
	}
}

func (c *conversation) markHandoff(reason string) {
	if !c.handoff {
		c.handoff, c.reason = true, reason
	}
	if c.reason == "" {
		c.reason = reason
	}
}

func (c *conversation) hasFlow(f string) bool {
	for _, x := range c.flows {
		if x == f {
			return true
		}
	}
	return false
}

// closed reports whether the conversation has a final outcome.
func (c *conversation) closed() bool { return c.outcome != OutcomeOpen }

func ticketID(e store.Event) (uint64, bool) {
	id, err := strconv.ParseUint(e.Data["ticket"], 10, 64)
	return id, err == nil
}
