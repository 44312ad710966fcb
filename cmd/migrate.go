package cmd

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/parley-chat/parley/store"
	"github.com/parley-chat/parley/store/postgres"
)

// runMigrate applies the PostgreSQL schema migrations and, with --from,
// copies a bbolt database into the (empty) PostgreSQL one:
//
//	parley migrate --to postgres://... [--from FILE.db]
//
// Replicas apply pending migrations at start too; this command lets an
// operator do it (and see what it did) before rolling out a new version.
func runMigrate(args []string, stdio IO) int {
	fs := newFlagSet("parley migrate", stdio)
	to := fs.String("to", os.Getenv("PARLEY_DB"), "PostgreSQL URL postgres://user:password@host:port/db (default $PARLEY_DB)")
	from := fs.String("from", "", "bbolt database file to copy into it (stop its server first)")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up after this long")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 0 {
		fmt.Fprintln(stdio.Stderr, "usage: parley migrate --to postgres://... [--from FILE.db]")
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stdio.Stderr, "parley migrate: "+format+"\n", a...)
		return 1
	}
	if !strings.HasPrefix(*to, "postgres://") && !strings.HasPrefix(*to, "postgresql://") {
		return fail("--to wants a PostgreSQL URL (postgres://user:password@host:port/db), got %q", redactURL(*to))
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	var src *store.DB
	if *from != "" {
		if _, err := statDB(*from); err != nil {
			return fail("%v", err)
		}
		src, err = store.Open(*from, store.Options{ReadOnly: true})
		switch {
		case errors.Is(err, store.ErrLocked):
			return fail("%s", inUse(*from))
		case err != nil:
			return fail("%v", err)
		}
		defer src.Close()
	}
	db, err := postgres.Open(ctx, *to, postgres.Options{NoMigrate: true})
	if err != nil && !errors.Is(err, store.ErrSchema) {
		return fail("%v", err)
	}
	if err == nil {
		fmt.Fprintf(stdio.Stdout, "schema is at version %d, nothing to apply\n", postgres.SchemaVersion())
	} else {
		db, err = postgres.Open(ctx, *to, postgres.Options{})
		if err != nil {
			return fail("%v", err)
		}
		fmt.Fprintf(stdio.Stdout, "schema migrated to version %d\n", postgres.SchemaVersion())
	}
	defer db.Close()
	if src == nil {
		return 0
	}
	rep, err := postgres.CopyFromBolt(ctx, src, db)
	if err != nil {
		return fail("copy %s: %v", *from, err)
	}
	fmt.Fprintf(stdio.Stdout, "copied %s: %s\n", *from, rep)
	for _, w := range rep.NotCopied {
		fmt.Fprintf(stdio.Stdout, "not copied: %s\n", w)
	}
	return 0
}

// redactURL hides a password in what an error repeats.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}
