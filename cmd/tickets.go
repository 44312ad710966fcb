package cmd

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/parley-chat/parley/handoff"
	"github.com/parley-chat/parley/store"
)

// ticketLine is one ticket in `parley tickets list --json`.
type ticketLine struct {
	ID           uint64     `json:"id"`
	Contact      string     `json:"contact"`
	Name         string     `json:"name"` // the customer's name, or channel and id end (handoff.ContactLabel)
	Channel      string     `json:"channel"`
	Address      string     `json:"address"`
	Reason       string     `json:"reason"`
	Status       string     `json:"status"`
	Priority     string     `json:"priority"`
	Agent        string     `json:"agent,omitempty"`
	Summary      string     `json:"summary,omitempty"`
	CSAT         int        `json:"csat,omitempty"`
	Outcome      string     `json:"outcome,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	AssignedAt   *time.Time `json:"assigned_at,omitempty"`
	FirstReplyAt *time.Time `json:"first_reply_at,omitempty"`
	ResolvedAt   *time.Time `json:"resolved_at,omitempty"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// runTickets lists handoff tickets for operators:
//
//	parley tickets list [--status open|queued|assigned|resolved] [--json] [--db FILE]
func runTickets(args []string, stdio IO) int {
	if len(args) == 0 || args[0] != "list" {
		fmt.Fprintln(stdio.Stderr, "usage: parley tickets list [--status open|queued|assigned|resolved] [--json] [--db FILE]")
		return 2
	}
	fs := newFlagSet("parley tickets list", stdio)
	status := fs.String("status", "", "open (queued or assigned), queued, assigned or resolved; default all")
	asJSON := fs.Bool("json", false, "print a JSON array, one object per ticket")
	dbPath := dbFlag(fs)
	if pos, err := parseInterspersed(fs, args[1:]); err != nil || len(pos) > 0 {
		if err == nil {
			fmt.Fprintf(stdio.Stderr, "parley tickets list: unexpected argument %q\n", pos[0])
		}
		return 2
	}
	var statuses []string
	switch *status {
	case "":
		statuses = []string{""}
	case "open":
		statuses = []string{store.TicketQueued, store.TicketAssigned}
	case store.TicketQueued, store.TicketAssigned, store.TicketResolved:
		statuses = []string{*status}
	default:
		fmt.Fprintf(stdio.Stderr, "parley tickets list: --status %q: want open, queued, assigned or resolved\n", *status)
		return 2
	}
	db, err := openStoreFor("tickets list", *dbPath, true)
	if err != nil {
		fmt.Fprintln(stdio.Stderr, err)
		return 1
	}
	defer db.Close()
	var ts []store.Ticket
	for _, st := range statuses {
		part, err := db.Tickets(st)
		if err != nil {
			fmt.Fprintf(stdio.Stderr, "parley tickets list: %v\n", err)
			return 1
		}
		ts = append(ts, part...)
	}
	if *status == "open" {
		handoff.SortQueue(ts)
	}
	lines := make([]ticketLine, 0, len(ts))
	for _, t := range ts {
		ch, _, _ := strings.Cut(t.Address, ":")
		c, _ := db.Contact(t.ContactID) // a missing contact still gets a label from the address
		lines = append(lines, ticketLine{ID: t.ID, Contact: t.ContactID, Name: handoff.ContactLabel(c, t.Vars, t.Address), Channel: ch, Address: t.Address,
			Reason: t.Reason, Status: t.Status, Priority: handoff.PriorityName(t.Priority), Agent: t.AgentID,
			Summary: t.Summary, CSAT: t.CSAT, Outcome: t.Outcome, CreatedAt: t.CreatedAt,
			AssignedAt: optTime(t.AssignedAt), FirstReplyAt: optTime(t.FirstReplyAt), ResolvedAt: optTime(t.ResolvedAt)})
	}
	if !listOut(stdio.Stdout, *asJSON, lines, "no tickets") {
		return 0
	}
	tw := tabwriter.NewWriter(stdio.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tPRIORITY\tCHANNEL\tCONTACT\tREASON\tAGENT\tCREATED")
	for _, l := range lines {
		agent := l.Agent
		if agent == "" {
			agent = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", l.ID, l.Status, l.Priority, l.Channel, l.Contact,
			l.Reason, agent, l.CreatedAt.UTC().Format("2006-01-02 15:04Z"))
	}
	tw.Flush()
	return 0
}

// listOut prints a list command's lines as indented JSON with --json, or
// says the list is empty; it reports whether a table is still to print.
func listOut[T any](w io.Writer, asJSON bool, lines []T, empty string) bool {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(lines)
		return false
	}
	if len(lines) == 0 {
		fmt.Fprintln(w, empty)
		return false
	}
	return true
}
