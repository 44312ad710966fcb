package cmd

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/parley-chat/parley/store"
)

// TestMain lets testscript run the parley binary (cmd.Main) and helpers as
// commands inside scripts.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"parley":       func() { os.Exit(Main()) },
		"seed-session": seedSession,
	})
}

// TestScript runs cmd/testdata/script/*.txtar: the CLI as a user drives it.
func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		// PARLEY_UPDATE=1 rewrites the cmp files of scripts, like every golden.
		UpdateScripts: os.Getenv("PARLEY_UPDATE") != "",
	})
}

// seedSession stores a session state for the web visitor CONTACT (created
// if new): seed-session DB CONTACT JSON. Scripts use it to prepare
// `parley lint --db`.
func seedSession() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: seed-session DB CONTACT STATE_JSON")
		os.Exit(2)
	}
	db, err := store.Open(os.Args[1], store.Options{NoSync: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx := context.Background()
	c, _, err := db.ResolveContact(ctx, "web:"+os.Args[2], os.Args[2], "ru")
	if err == nil {
		_, err = db.Commit(ctx, store.Turn{ContactID: c.ID, Session: []byte(os.Args[3])})
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}
