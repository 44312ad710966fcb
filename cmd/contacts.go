package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/store"
)

const contactsUsage = "usage: parley contacts list [--channel web|telegram|vk|sms|email] [--search TEXT] [--json] [--db FILE]\n" +
	"       parley contacts export|forget ID [--db FILE] [--keep-free-pages]\n" +
	"  ID is a contact id (c_...) or a channel identity (telegram:42, vk:7, web:VISITOR)"

// runContacts answers a customer's data requests, offline (the server must
// be stopped: the file is locked while it runs):
//
//	parley contacts export ID [--db FILE]   everything stored about the contact, as JSON
//	parley contacts forget ID [--db FILE]   erase it; tickets and analytics keep an anonymous record
//
// forget compacts the file afterwards, so the erased text is not left in
// bbolt's free pages (--keep-free-pages skips that, e.g. for a huge file
// that is compacted later).
func runContacts(args []string, stdio IO) int {
	if len(args) > 0 && args[0] == "list" {
		return contactsList(args[1:], stdio)
	}
	if len(args) == 0 || (args[0] != "export" && args[0] != "forget") {
		fmt.Fprintln(stdio.Stderr, contactsUsage)
		return 2
	}
	sub := args[0]
	fs := newFlagSet("parley contacts "+sub, stdio)
	dbPath := dbFlag(fs)
	keep := fs.Bool("keep-free-pages", false, "forget: do not compact the file afterwards")
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fmt.Fprintln(stdio.Stderr, contactsUsage)
		return 2
	}
	name := "contacts " + sub
	db, err := openStoreFor(name, *dbPath, sub == "export")
	if err != nil {
		fmt.Fprintln(stdio.Stderr, err)
		return 1
	}
	defer db.Close()
	id, err := contactID(db, pos[0])
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "parley %s: %v\n", name, err)
		return 1
	}
	if sub == "export" {
		ex, err := db.ExportContact(id)
		if err != nil {
			fmt.Fprintf(stdio.Stderr, "parley %s: %v\n", name, err)
			return 1
		}
		enc := json.NewEncoder(stdio.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(ex); err != nil {
			fmt.Fprintf(stdio.Stderr, "parley %s: %v\n", name, err)
			return 1
		}
		return 0
	}
	res, err := db.ForgetContact(context.Background(), id, "cli")
	if err == nil {
		err = db.Close()
	}
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "parley %s: %v\n", name, err)
		return 1
	}
	fmt.Fprintf(stdio.Stdout, "forgot contact %s (%s): %d messages, %d pending entries and %d merge records erased; %d tickets and %d events kept as %s\n",
		res.ContactID, strings.Join(res.Identities, ", "), res.Messages, res.Queued, res.Merges, res.Tickets, res.Events, res.Anonymous)
	if *keep {
		fmt.Fprintln(stdio.Stdout, "free pages kept: erased text stays in the file until it is compacted")
		return 0
	}
	before, after, err := store.CompactFile(*dbPath)
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "parley %s: the contact is erased, but compacting the file failed (erased text may remain in free pages): %v\n", name, err)
		return 1
	}
	fmt.Fprintf(stdio.Stdout, "compacted %s: %d -> %d bytes\n", *dbPath, before, after)
	return 0
}

// contactID resolves a contact id or a "channel:id" identity.
func contactID(db *store.DB, arg string) (string, error) {
	if strings.Contains(arg, ":") {
		c, err := db.ContactByIdentity(arg)
		if errors.Is(err, store.ErrNotFound) {
			return "", fmt.Errorf("no contact has the identity %q", arg)
		}
		return c.ID, err
	}
	c, err := db.Contact(arg)
	if errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("no contact %q (give a contact id such as c_... or an identity such as telegram:42)", arg)
	}
	return c.ID, err
}

// contactLine is one contact in `parley contacts list --json`.
type contactLine struct {
	ID          string     `json:"id"`
	Name        string     `json:"name,omitempty"`
	Lang        string     `json:"lang,omitempty"`
	Identities  []string   `json:"identities"`
	CreatedAt   time.Time  `json:"created_at"`
	LastMessage *time.Time `json:"last_message_at,omitempty"`
}

// contactsList lists the contacts that have a conversation, oldest first:
//
//	parley contacts list [--channel C] [--search TEXT] [--json] [--db FILE]
//
// --search matches a part of the name, an identity or the contact id,
// ignoring case.
func contactsList(args []string, stdio IO) int {
	fs := newFlagSet("parley contacts list", stdio)
	ch := fs.String("channel", "", "only contacts with an identity on this channel: web, telegram, vk, sms or email")
	search := fs.String("search", "", "only contacts whose name, identity or id contains TEXT (any case)")
	asJSON := fs.Bool("json", false, "print a JSON array, one object per contact")
	dbPath := dbFlag(fs)
	if pos, err := parseInterspersed(fs, args); err != nil || len(pos) > 0 {
		if err == nil {
			fmt.Fprintf(stdio.Stderr, "parley contacts list: unexpected argument %q\n%s\n", pos[0], contactsUsage)
		}
		return 2
	}
	if *ch != "" && !channel.Name(*ch).Valid() {
		fmt.Fprintf(stdio.Stderr, "parley contacts list: --channel %q: want web, telegram, vk, sms or email\n", *ch)
		return 2
	}
	db, err := openStoreFor("contacts list", *dbPath, true)
	if err != nil {
		fmt.Fprintln(stdio.Stderr, err)
		return 1
	}
	defer db.Close()
	lines := []contactLine{}
	needle := strings.ToLower(*search)
	// Every contact that ever talked has a session; the store has no other
	// index of contacts.
	err = db.Sessions(func(id string, _ []byte) error {
		c, err := db.Contact(id)
		if errors.Is(err, store.ErrNotFound) {
			return nil // merged into another or forgotten meanwhile
		}
		if err != nil {
			return err
		}
		if !contactMatches(c, *ch, needle) {
			return nil
		}
		l := contactLine{ID: c.ID, Name: c.Name, Lang: c.Lang, Identities: c.Identities, CreatedAt: c.CreatedAt}
		if last, err := db.LastMessages(c.ID, 1); err == nil && len(last) == 1 {
			l.LastMessage = &last[0].At
		}
		lines = append(lines, l)
		return nil
	})
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "parley contacts list: %v\n", err)
		return 1
	}
	slices.SortStableFunc(lines, func(a, b contactLine) int { return a.CreatedAt.Compare(b.CreatedAt) })
	if !listOut(stdio.Stdout, *asJSON, lines, "no contacts") {
		return 0
	}
	tw := tabwriter.NewWriter(stdio.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tIDENTITIES\tLANG\tCREATED\tLAST MESSAGE")
	for _, l := range lines {
		last := "-"
		if l.LastMessage != nil {
			last = l.LastMessage.UTC().Format("2006-01-02 15:04Z")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", l.ID, dash(l.Name), strings.Join(l.Identities, ","), dash(l.Lang),
			l.CreatedAt.UTC().Format("2006-01-02 15:04Z"), last)
	}
	tw.Flush()
	return 0
}

// contactMatches applies the list's filters: an identity on channel ch
// (any when empty), and needle (lower case) in the name, an identity or
// the id.
func contactMatches(c store.Contact, ch, needle string) bool {
	if ch != "" && !slices.ContainsFunc(c.Identities, func(id string) bool { return strings.HasPrefix(id, ch+":") }) {
		return false
	}
	if needle == "" {
		return true
	}
	if strings.Contains(strings.ToLower(c.Name), needle) || strings.Contains(strings.ToLower(c.ID), needle) {
		return true
	}
	return slices.ContainsFunc(c.Identities, func(id string) bool { return strings.Contains(strings.ToLower(id), needle) })
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
