package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/parley-chat/parley/store"
)

const contactsUsage = "usage: parley contacts export|forget ID [--db FILE] [--keep-free-pages]\n" +
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
	if len(args) == 0 || (args[0] != "export" && args[0] != "forget") {
		fmt.Fprintln(stdio.Stderr, contactsUsage)
		return 2
	}
	sub := args[0]
	fs := flag.NewFlagSet("parley contacts "+sub, flag.ContinueOnError)
	fs.SetOutput(stdio.Stderr)
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
