// Package handoff owns the human side of Parley: the ticket queue a
// conversation enters when the bot escalates, who owns a conversation (the
// bot, the queue or one agent), assignment (atomic claims, round-robin with
// capacity), business hours and the notices the customer gets, reopening and
// CSAT, agent accounts, and the agent console with its JSON API (embedded in
// the binary, see API.md).
//
// handoff never talks to a channel itself: it declares Deliverer, which the
// runtime implements, so an agent's reply goes through the same durable
// history + outbox turn as a bot reply. Ticket writes that the runtime must
// commit together with a message come back as store.TicketChange values.
package handoff

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/store"
)

// Store is what handoff needs from persistence; *store.DB implements it.
type Store interface {
	Contact(id string) (store.Contact, error)
	History(contactID string, afterSeq uint64, limit int) ([]store.Message, error)
	LastMessages(contactID string, n int) ([]store.Message, error)
	AppendEvents(ctx context.Context, evs ...store.Event) error
	Ticket(id uint64) (store.Ticket, error)
	OpenTicketFor(contactID string) (store.Ticket, bool, error)
	TicketStateFor(contactID string) (store.TicketState, error)
	Tickets(status string) ([]store.Ticket, error)
	UpdateTicket(ctx context.Context, id uint64, fn func(*store.Ticket) error) (store.Ticket, error)
	PutAgent(ctx context.Context, a store.Agent) error
	Agent(id string) (store.Agent, error)
	AgentByName(name string) (store.Agent, error)
	Agents() ([]store.Agent, error)
	SessionStore
}

// Deliverer is implemented by the runtime. Deliver sends a message to the
// customer through their own channel: the history append, the outbox entry
// and the optional ticket change are ONE store turn, and if Ticket.Fn returns
// an error nothing is committed and Deliver returns that error (wrapped or
// not, errors.Is must find it). Resume hands the conversation back to the
// bot: the runtime runs the flow engine's Resume at the ticket's resume node
// in the contact's ordered worker.
type Deliverer interface {
	Deliver(ctx context.Context, d Delivery) error
	Resume(ctx context.Context, contactID string) error
}

// Delivery is one message from the human side to a customer.
type Delivery struct {
	ContactID string
	// Address is the channel address the ticket was opened from
	// ("telegram:42"); the runtime may prefer the contact's latest channel.
	Address string
	Text    string
	Buttons []channel.Button
	// SenderID is the agent id ("" = a system notice sent as the bot) and
	// SenderName the name the customer sees (web chat shows it).
	SenderID, SenderName string
	// Files are ids of stored files (store.PutFile) of the contact, sent
	// with the text (which may then be empty).
	Files []string
	// Ticket is committed in the same turn as the message, or not at all.
	Ticket *store.TicketChange
}

// Request is the runtime's description of a handoff output of the flow engine.
type Request struct {
	ContactID  string
	Address    string // channel address the customer escalated from
	Lang       string // contact language for the notices ("" = default)
	Reason     string // negative, not_understood, requested or a flow-defined one
	Priority   string // low, normal, high, urgent ("" = normal)
	Note       string // free text from the flow, shown in the summary
	ResumeNode string // where the bot continues after the ticket
	Evidence   []string
	Vars       map[string]string
}

// Notice is a message for the customer that the runtime sends as the bot.
type Notice struct {
	Text    string
	Buttons []channel.Button
}

// Owners of a conversation, as Route decides them.
const (
	OwnerBot    = "bot"    // run the flow engine
	OwnerTicket = "ticket" // the bot stays silent; the message goes to the ticket
	OwnerCSAT   = "csat"   // the message answered the CSAT question
)

// Decision says who handles an inbound customer message. The runtime:
//
//   - OwnerTicket: commits the message with Change, Notices and Events, runs
//     no flow (except triggers marked during_handoff), then calls
//     CustomerMessage.
//   - OwnerCSAT: commits the message with Change, Notices and Events, then
//     resumes the flow (Resume is set).
//   - OwnerBot: commits Change and Events (if any) with the turn; when Resume
//     is set it first resumes the flow (engine Resume, a no-op for a flow
//     that is not in a handoff) and then runs the message through the flow.
type Decision struct {
	Owner  string
	Ticket store.Ticket // the open ticket (OwnerTicket) or the rated one (OwnerCSAT)
	// Change, Notices and Events are committed by the runtime in the same
	// turn as the inbound message.
	Change  *store.TicketChange
	Notices []Notice
	Events  []store.Event
	// Resume: the flow may still be parked in the handoff; resume it at
	// Ticket.ResumeNode before the bot handles this message.
	Resume bool
}

// Ticket statuses and resolve outcomes as stored.
const (
	StatusQueued   = "queued"
	StatusAssigned = "assigned"
	StatusResolved = "resolved"

	OutcomeBot  = "bot"
	OutcomeCSAT = "csat"
	OutcomeEnd  = "end"
)

// Agent roles. Leads and admins see every ticket and can reassign; admins
// are leads that a future settings page will distinguish.
const (
	RoleAgent = "agent"
	RoleLead  = "lead"
	RoleAdmin = "admin"
)

// Errors of the ticket operations; the API maps them to HTTP statuses.
var (
	ErrBadRequest = errors.New("bad request")
	ErrForbidden  = errors.New("forbidden")
	ErrNotFound   = store.ErrNotFound
	ErrConflict   = store.ErrConflict
)

// Service is the handoff queue and console. It is safe for concurrent use.
type Service struct {
	st  Store
	cfg Config // its lead part is in leadCfg (SetLeadConfig)
	// leadCfg is what a lead owns (LeadConfig): swapped whole by a project
	// reload, read without a lock.
	leadCfg atomic.Pointer[LeadConfig]
	d       Deliverer
	log     zerolog.Logger

	hub      *hub
	presence *presence
	sessions *sessions
	logins   *loginLimiter // per address and account
	// addrLimit, hashing and metrics guard sign-in (signin.go).
	addrLimit *loginLimiter
	hashing   *hashSlots
	metrics   *signinMetrics
	// oneTimeMu makes spending a one-time password one at a time.
	oneTimeMu sync.Mutex

	dummyOnce sync.Once
	dummyHash []byte

	// assignMu serialises auto-assignment so two triggers do not hand the
	// same agent more than its capacity; rrLast is the round-robin cursor.
	assignMu sync.Mutex
	rrLast   string

	// waits are recent queue waits (in memory) for the expected-wait notice.
	waitMu sync.Mutex
	waits  []waitSample

	graphs graphSource   // flow graphs for the dashboard (dashboard.go)
	teach  teacherSource // edits the project from the misses inbox (misses_teach.go)

	waitNotifier WaitNotifier // the customers' wait states (waitstate.go)

	handler http.Handler
	// shutdownHooks are the http.Servers whose Shutdown closes the live
	// streams (live.go).
	shutdownHooks sync.Map
	closeMu       sync.Mutex
	closed        bool
}

// New builds the service. d may be nil only for tools that never send
// (agent administration); operations that must reach a customer then fail.
func New(st Store, cfg Config, d Deliverer, log zerolog.Logger) (*Service, error) {
	if st == nil {
		return nil, fmt.Errorf("handoff: nil store")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Service{
		st:        st,
		cfg:       cfg,
		d:         d,
		log:       log.With().Str("component", "handoff").Logger(),
		hub:       newHub(),
		presence:  newPresence(cfg.PresenceTTL, cfg.Now),
		logins:    newLoginLimiter(cfg.LoginEvery, cfg.LoginBurst, cfg.Now),
		addrLimit: newLoginLimiter(cfg.AddressEvery, cfg.AddressBurst, cfg.Now),
		metrics:   newSigninMetrics(),
	}
	lc := cfg.Lead()
	s.leadCfg.Store(&lc)
	s.hashing = newHashSlots(cfg.MaxHashing, cfg.HashWait, s.metrics.hashing)
	if cfg.Metrics != nil {
		if err := s.metrics.register(cfg.Metrics); err != nil {
			return nil, fmt.Errorf("handoff: metrics: %w", err)
		}
	}
	s.sessions = newSessions(cfg.SessionTTL, cfg.SessionMaxAge, cfg.Now, st, s.log)
	s.handler = s.routes()
	return s, nil
}

// lead is the lead's part of the configuration now.
func (s *Service) lead() *LeadConfig { return s.leadCfg.Load() }

// HoursAt is At of the business hours now in force (a project reload
// changes them): flows read it as `hours` (flows.Options.Hours).
func (s *Service) HoursAt(t time.Time) (open bool, opensAt time.Time) { return s.lead().Hours.At(t) }

// texts are the customer's notices in lang now.
func (s *Service) texts(lang string) Texts { return s.lead().texts(lang, s.cfg.DefaultLang) }

// SetLeadConfig replaces the lead's part of the configuration (hours, CSAT,
// notices, canned replies, variable labels) while the service runs: a
// project reload calls it. Notices and tickets from then on follow it;
// consoles are told to read it again. On error nothing changes.
func (s *Service) SetLeadConfig(l LeadConfig) error {
	l, err := l.withDefaults(s.cfg.DefaultLang)
	if err != nil {
		return err
	}
	s.leadCfg.Store(&l)
	s.hub.publish(liveEvent{Type: "config"})
	return nil
}

// Close ends the live update streams so an http.Server can shut down.
func (s *Service) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if !s.closed {
		s.closed = true
		s.hub.close()
	}
	return nil
}

// Handler serves the console under /console/ and the JSON API under /api/;
// mount it at both prefixes unchanged (no StripPrefix).
func (s *Service) Handler() http.Handler { return s.handler }

func (s *Service) now() time.Time { return s.cfg.Now() }

// QueueStats reports the queue for metrics: tickets waiting, how long the
// oldest has waited, and agents online.
func (s *Service) QueueStats() (queued int, oldestWait time.Duration, agentsOnline int) {
	ts, err := s.st.Tickets(StatusQueued)
	if err != nil {
		s.log.Warn().Err(err).Msg("queue stats")
	}
	now := s.now()
	for _, t := range ts {
		queued++
		if w := now.Sub(queuedAt(t)); w > oldestWait {
			oldestWait = w
		}
	}
	return queued, oldestWait, len(s.presence.online())
}

// event builds a ticket event for the event log.
func (s *Service) event(t store.Ticket, typ string, kv ...string) store.Event {
	data := map[string]string{"ticket": fmt.Sprint(t.ID)}
	for i := 0; i+1 < len(kv); i += 2 {
		data[kv[i]] = kv[i+1]
	}
	return store.Event{At: s.now(), ContactID: t.ContactID, Type: typ, Data: data}
}

// logEvents appends events after an operation committed. A failure is
// logged, not returned: the ticket change itself is already durable.
func (s *Service) logEvents(ctx context.Context, evs ...store.Event) {
	if err := s.st.AppendEvents(ctx, evs...); err != nil {
		s.log.Error().Err(err).Str("event", evs[0].Type).Msg("append ticket events")
	}
}
