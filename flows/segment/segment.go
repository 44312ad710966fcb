// Package segment owns broadcast segments: an expression over a contact
// (business fields set through the API, and the facts Parley knows by
// itself) that says whether the contact receives a broadcast. Expressions
// are type-checked when the segment is created, like flow expressions, so a
// typo fails at `parley broadcast create`, never half-way through a send.
// The package is pure: the caller reads contacts and facts from the store.
package segment

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
)

// Limits on a segment expression, as for flow expressions.
const (
	MaxLen       = 2000
	maxNodes     = 500
	memoryBudget = 100_000
)

// Env is what a segment expression sees. No methods on purpose: expr-lang
// makes every exported method callable.
type Env struct {
	Contact Contact   `expr:"contact"`
	Now     time.Time `expr:"now"`
}

// Contact is the customer as a segment sees them. Any name after contact.
// that is not one of these is a business field (contact.city reads
// contact.fields.city); fields are strings ("" when unset): compare dates
// with days_since, numbers with int() or float().
type Contact struct {
	ID       string            `expr:"id"`
	Name     string            `expr:"name"`
	Lang     string            `expr:"lang"`
	Channels []string          `expr:"channels"` // "telegram", "vk", "email", ...
	Fields   map[string]string `expr:"fields"`

	FirstSeen     time.Time `expr:"first_seen"`
	LastMessageAt time.Time `expr:"last_message_at"` // zero when none
	LastInboundAt time.Time `expr:"last_inbound_at"`
	MessagesIn    int       `expr:"messages_in"`
	MessagesOut   int       `expr:"messages_out"`
	Conversations int       `expr:"conversations"`
	Tickets       int       `expr:"tickets"`
	OpenTicket    bool      `expr:"open_ticket"`
	CSAT          float64   `expr:"csat"` // mean rating, 0 when none
	CSATCount     int       `expr:"csat_count"`
}

var builtins = []string{"id", "name", "lang", "channels", "fields", "first_seen", "last_message_at",
	"last_inbound_at", "messages_in", "messages_out", "conversations", "tickets", "open_ticket", "csat", "csat_count"}

// Segment is one compiled segment expression.
type Segment struct {
	Src  string
	prog *vm.Program
}

// Compile type-checks src as a condition over Env. The error is one line
// a lead can act on.
func Compile(src string) (*Segment, error) {
	src = strings.TrimSpace(src)
	if src == "" {
		return nil, errors.New("segment: empty expression (try `contact.city == \"Казань\"`, or `true` for every contact)")
	}
	if len([]rune(src)) > MaxLen {
		return nil, fmt.Errorf("segment: expression of %d characters, limit %d", len([]rune(src)), MaxLen)
	}
	if deep(src) {
		return nil, errors.New("segment: expression nested too deep")
	}
	prog, err := expr.Compile(src, expr.Env(Env{}), expr.AsBool(), expr.MaxNodes(maxNodes),
		expr.Patch(fieldPatch{}), daysSince, expr.Timezone("UTC"))
	if err != nil {
		return nil, fmt.Errorf("segment: %s", oneLine(err))
	}
	return &Segment{Src: src, prog: prog}, nil
}

// Match reports whether the contact is in the segment at now.
func (s *Segment) Match(c Contact, now time.Time) (bool, error) {
	m := vm.VM{MemoryBudget: memoryBudget}
	out, err := m.Run(s.prog, &Env{Contact: c, Now: now})
	if err != nil {
		return false, fmt.Errorf("segment: %s", oneLine(err))
	}
	b, _ := out.(bool)
	return b, nil
}

// daysSince is days_since(x): whole days from x to now. x is a time (a
// fact) or a field holding a date ("2026-03-01" or RFC 3339); an empty or
// unreadable date gives -1, so `days_since(contact.last_order) > 90` leaves
// out contacts with no order.
var daysSince = expr.Function("days_since", func(params ...any) (any, error) {
	// now is not known here: the env's now is passed as the second argument
	// by the patch (days_since(x) -> days_since(x, now)).
	now, _ := params[1].(time.Time)
	var t time.Time
	switch v := params[0].(type) {
	case time.Time:
		t = v
	case string:
		v = strings.TrimSpace(v)
		var err error
		if t, err = time.Parse(time.DateOnly, v); err != nil {
			if t, err = time.Parse(time.RFC3339, v); err != nil {
				return -1, nil
			}
		}
	}
	if t.IsZero() {
		return -1, nil
	}
	return int(now.Sub(t).Hours() / 24), nil
}, new(func(time.Time, time.Time) int), new(func(string, time.Time) int))

// fieldPatch makes contact.X read contact.fields.X when X is not one of the
// contact's own names, and passes now to days_since.
type fieldPatch struct{}

func (fieldPatch) Visit(n *ast.Node) {
	if c, ok := (*n).(*ast.CallNode); ok {
		if id, ok := c.Callee.(*ast.IdentifierNode); ok && id.Value == "days_since" && len(c.Arguments) == 1 {
			now := &ast.IdentifierNode{Value: "now"}
			now.SetLocation(c.Location())
			c.Arguments = append(c.Arguments, now)
		}
		return
	}
	m, ok := (*n).(*ast.MemberNode)
	if !ok || m.Method {
		return
	}
	id, ok := m.Node.(*ast.IdentifierNode)
	p, ok2 := m.Property.(*ast.StringNode)
	if !ok || !ok2 || id.Value != "contact" || slices.Contains(builtins, p.Value) {
		return
	}
	fields := &ast.MemberNode{Node: id, Property: &ast.StringNode{Value: "fields"}, Optional: m.Optional}
	fields.SetLocation(m.Location())
	fields.Property.SetLocation(p.Location())
	ast.Patch(n, &ast.MemberNode{Node: fields, Property: p, Optional: m.Optional})
}

// deep reports brackets nested deeper than the parser's stack allows.
func deep(src string) bool {
	depth := 0
	for _, r := range src {
		switch r {
		case '(', '[', '{':
			if depth++; depth > 32 {
				return true
			}
		case ')', ']', '}':
			depth--
		}
	}
	return false
}

func oneLine(err error) error {
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return errors.New(strings.TrimSpace(msg))
}
