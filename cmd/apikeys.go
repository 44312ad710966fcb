package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/parley-chat/parley/store"
)

const apikeysUsage = `usage: parley apikeys add NAME [--scope triggers,contacts,conversions,broadcasts] [--db FILE]
       parley apikeys list [--json] [--db FILE]
       parley apikeys revoke ID|NAME [--db FILE]`

// runAPIKeys manages the keys machines use for the outbound API
// (docs/outbound.md). The key is printed once by add; only its hash is kept.
func runAPIKeys(args []string, stdio IO) int {
	if len(args) == 0 {
		fmt.Fprintln(stdio.Stderr, apikeysUsage)
		return 2
	}
	switch args[0] {
	case "add":
		return apikeysAdd(args[1:], stdio)
	case "list":
		return apikeysList(args[1:], stdio)
	case "revoke":
		return apikeysRevoke(args[1:], stdio)
	}
	fmt.Fprintf(stdio.Stderr, "parley apikeys: unknown subcommand %q (want add, list or revoke)\n", args[0])
	return 2
}

func apikeysAdd(args []string, stdio IO) int {
	fs := newFlagSet("parley apikeys add", stdio)
	scope := fs.String("scope", store.ScopeTriggers+","+store.ScopeContacts+","+store.ScopeConversions,
		"comma-separated scopes: "+strings.Join(store.APIScopes, ", "))
	dbPath := dbFlag(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fmt.Fprintln(stdio.Stderr, apikeysUsage)
		return 2
	}
	var scopes []string
	for _, s := range strings.Split(*scope, ",") {
		if s = strings.TrimSpace(s); s != "" {
			scopes = append(scopes, s)
		}
	}
	db, err := openStoreFor("apikeys add", *dbPath, false)
	if err != nil {
		fmt.Fprintln(stdio.Stderr, err)
		return 1
	}
	defer db.Close()
	k, secret, err := db.CreateAPIKey(context.Background(), pos[0], scopes)
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "parley apikeys add: %v\n", strings.TrimPrefix(err.Error(), "store: "))
		return 1
	}
	fmt.Fprintf(stdio.Stdout, "created api key %s %q (scopes %s)\n", k.ID, k.Name, strings.Join(k.Scopes, ","))
	fmt.Fprintf(stdio.Stdout, "key: %s\n", secret)
	fmt.Fprintln(stdio.Stdout, "it is shown only now: send it as \"Authorization: Bearer <key>\"")
	return 0
}

func apikeysList(args []string, stdio IO) int {
	fs := newFlagSet("parley apikeys list", stdio)
	asJSON := fs.Bool("json", false, "print a JSON array")
	dbPath := dbFlag(fs)
	if pos, err := parseInterspersed(fs, args); err != nil || len(pos) > 0 {
		if err == nil {
			fmt.Fprintf(stdio.Stderr, "parley apikeys list: unexpected argument %q\n", pos[0])
		}
		return 2
	}
	db, err := openStoreFor("apikeys list", *dbPath, true)
	if err != nil {
		fmt.Fprintln(stdio.Stderr, err)
		return 1
	}
	defer db.Close()
	keys, err := db.APIKeys()
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "parley apikeys list: %v\n", err)
		return 1
	}
	if *asJSON {
		if keys == nil {
			keys = []store.APIKey{}
		}
		enc := json.NewEncoder(stdio.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(keys)
		return 0
	}
	tw := tabwriter.NewWriter(stdio.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tKEY\tSCOPES\tCREATED\tSTATUS")
	for _, k := range keys {
		status := "active"
		if k.Revoked() {
			status = "revoked " + k.RevokedAt.Format("2006-01-02 15:04Z")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s…\t%s\t%s\t%s\n", k.ID, k.Name, k.Prefix, strings.Join(k.Scopes, ","),
			k.CreatedAt.Format("2006-01-02 15:04Z"), status)
	}
	tw.Flush()
	return 0
}

func apikeysRevoke(args []string, stdio IO) int {
	fs := newFlagSet("parley apikeys revoke", stdio)
	dbPath := dbFlag(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fmt.Fprintln(stdio.Stderr, apikeysUsage)
		return 2
	}
	db, err := openStoreFor("apikeys revoke", *dbPath, false)
	if err != nil {
		fmt.Fprintln(stdio.Stderr, err)
		return 1
	}
	defer db.Close()
	k, err := db.RevokeAPIKey(context.Background(), pos[0])
	switch {
	case errors.Is(err, store.ErrNotFound):
		fmt.Fprintf(stdio.Stderr, "parley apikeys revoke: no api key %q (see parley apikeys list)\n", pos[0])
		return 1
	case errors.Is(err, store.ErrConflict):
		fmt.Fprintf(stdio.Stderr, "parley apikeys revoke: several live keys are named %q; revoke one by its id (parley apikeys list)\n", pos[0])
		return 1
	case err != nil:
		fmt.Fprintf(stdio.Stderr, "parley apikeys revoke: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdio.Stdout, "revoked api key %s %q\n", k.ID, k.Name)
	return 0
}
