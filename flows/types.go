package flows

import (
	"fmt"
	"time"

	"github.com/parley-chat/parley/flows/syntax"
)

// Error is one positioned problem in a project.
type Error = syntax.Error

// ErrorList is every problem in a project, sorted.
type ErrorList = syntax.ErrorList

// Input is one customer message as the engine sees it.
type Input struct {
	Text    string
	Payload string // value of a pressed button; "" for typed text
	Channel string // web, telegram, vk
	Now     time.Time
	Contact Contact
	// Greeted says the channel already showed this customer the opening
	// (Engine.Opening): a new conversation starts without repeating it, and
	// the first message, typed or a pressed opening button, is answered.
	Greeted bool
	// Debug asks for a Trace of what the bot understood, as the last
	// output (kind Debug). It is for people tuning a project: never send
	// or store that output.
	Debug bool
	// Trigger, when set, makes this input a start from outside (the
	// trigger API) rather than a customer message: the conversation starts
	// over at the trigger's flow with its params. Text and Payload are
	// ignored.
	Trigger *Trigger
	// Attachments are the files of the message (the runtime stored them).
	Attachments []Attachment
}

// Trigger starts a flow for a contact nobody heard from just now (an order
// shipped, a reminder).
type Trigger struct {
	Flow string
	// Params are readable as params.NAME; values keep JSON's types
	// (float64 numbers, string, bool, nil, []any, map[string]any).
	Params map[string]any
}

// Attachment is one file or picture of a customer's message.
type Attachment struct {
	Kind string // "image" or "file" when stored; the channel's kind otherwise
	Name string
	Type string // sniffed content type
	Size int64
	Ref  string // "parley:f_…" for a stored file
}

// Contact is the customer.
type Contact struct {
	ID     string
	Name   string
	Lang   string
	Fields map[string]string
}

// With is the contact after a SetContact output's fields, as the runtime
// keeps them (and conversation tests mirror): "name" and "lang" (or
// "language") change the contact itself, any other key is a stored field.
// The fields map is copied, never changed in place.
func (c Contact) With(fields map[string]string) Contact {
	if len(fields) == 0 {
		return c
	}
	merged := make(map[string]string, len(c.Fields)+len(fields))
	for k, v := range c.Fields {
		merged[k] = v
	}
	for k, v := range fields {
		switch k {
		case "name":
			c.Name = v
		case "lang", "language":
			c.Lang = v
		default:
			merged[k] = v
		}
	}
	c.Fields = merged
	return c
}

// OutputKind says what an Output asks the runtime to do.
type OutputKind uint8

// Output kinds.
const (
	Say        OutputKind = iota + 1 // send a message
	Handoff                          // put the conversation in the human queue
	SetContact                       // store contact fields
	Event                            // record an analytics event
	End                              // the conversation ended
	// LinkCode asks the runtime to issue a link code and send Link's
	// text with it (a link node); the flow has gone on past the node.
	LinkCode
	// Debug carries the Trace of an Input with Debug set: not for the
	// customer.
	Debug
)

func (k OutputKind) String() string {
	switch k {
	case Say:
		return "say"
	case Handoff:
		return "handoff"
	case SetContact:
		return "set_contact"
	case Event:
		return "event"
	case End:
		return "end"
	case LinkCode:
		return "link"
	case Debug:
		return "debug"
	}
	return "unknown"
}

// MarshalText makes kinds readable in JSON.
func (k OutputKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads what MarshalText wrote.
func (k *OutputKind) UnmarshalText(b []byte) error {
	for c := Say; c <= Debug; c++ {
		if c.String() == string(b) {
			*k = c
			return nil
		}
	}
	return fmt.Errorf("flows: unknown output kind %q", b)
}

// Button is a choice offered to the customer; Value comes back as the payload.
type Button struct {
	Text  string `json:"text"`
	Value string `json:"value"`
}

// HandoffRequest asks for a human.
type HandoffRequest struct {
	Reason   string            `json:"reason"` // negative | not_understood | requested | a flow-defined reason
	Priority string            `json:"priority,omitempty"`
	Note     string            `json:"note,omitempty"`
	Evidence []string          `json:"evidence,omitempty"`
	Vars     map[string]string `json:"vars,omitempty"` // what the bot collected
	// ResumeNode is "flow.node" where Engine.Resume continues once an
	// agent hands the customer back.
	ResumeNode string `json:"resume_node,omitempty"`
}

// EventRecord is an analytics event.
type EventRecord struct {
	Name string            `json:"name"` // node, fallback, error, migrated, trigger, wait_timeout
	Flow string            `json:"flow,omitempty"`
	Node string            `json:"node,omitempty"`
	Data map[string]string `json:"data,omitempty"`
}

// Output is one effect of a step, in order.
type Output struct {
	Kind    OutputKind        `json:"type"`
	Text    string            `json:"text,omitempty"`
	Buttons []Button          `json:"buttons,omitempty"`
	Image   string            `json:"image,omitempty"`
	Handoff *HandoffRequest   `json:"handoff,omitempty"`
	Fields  map[string]string `json:"fields,omitempty"`
	Event   *EventRecord      `json:"event,omitempty"`
	// Link is a LinkCode output's request. The engine leaves Text empty:
	// the runtime sets it to the message it sent, code included.
	Link *LinkRequest `json:"link,omitempty"`
	// Trace is a Debug output's account of the turn.
	Trace *Trace `json:"trace,omitempty"`
}

// Frame is a return point of a sub-flow call.
type Frame struct {
	Flow string `json:"flow"`
	Node string `json:"node"` // node to continue at after the call returns; "" = the caller ends
}

// State is a conversation's session: small and JSON-serialisable. The zero
// value is a new conversation. It survives a JSON round trip with identical
// behaviour: variables are kept in JSON's own types (float64 numbers,
// map[string]any, []any) from the moment they are set.
type State struct {
	Flow    string         `json:"flow,omitempty"`
	Node    string         `json:"node,omitempty"`
	Version string         `json:"version,omitempty"` // project content hash
	Stack   []Frame        `json:"stack,omitempty"`
	Vars    map[string]any `json:"vars,omitempty"`
	// Waiting is set while the node waits for the customer's answer.
	Waiting bool `json:"waiting,omitempty"`
	// InHandoff is set while a human has the conversation; Resume clears it.
	InHandoff bool `json:"in_handoff,omitempty"`
	// Resume is "flow.node" where the conversation continues after a handoff.
	Resume string `json:"resume,omitempty"`
	// Ended is set once the conversation reached an end: the next message
	// starts over from the start flow.
	Ended     bool     `json:"ended,omitempty"`
	Retries   int      `json:"retries,omitempty"`
	Fallbacks int      `json:"fallbacks,omitempty"`
	Lang      string   `json:"lang,omitempty"`
	Buttons   []Button `json:"buttons,omitempty"` // of the last message, for "2" = second button
	// Deadline (Unix seconds) is when a waiting node with a timeout gives up.
	Deadline int64 `json:"deadline,omitempty"`
	Turns    int   `json:"turns,omitempty"`
	// Params are the parameters of the trigger that started the
	// conversation (Input.Trigger), read as params.NAME until it restarts.
	Params map[string]any `json:"params,omitempty"`
}

// WaitDeadline tells the runtime when to call Engine.Timeout, if ever.
func (s State) WaitDeadline() (time.Time, bool) {
	if !s.Waiting || s.Deadline == 0 {
		return time.Time{}, false
	}
	return time.Unix(s.Deadline, 0), true
}
