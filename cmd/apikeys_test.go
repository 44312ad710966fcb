package cmd

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/parley-chat/parley/store"
)

// parley apikeys add prints a key once that the store then recognises;
// list shows it without the key; revoke ends it.
func TestAPIKeysCommand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := Run(append(args, "--db", path), IO{Stdout: &out, Stderr: &errOut})
		return code, out.String(), errOut.String()
	}
	code, out, errOut := run("apikeys", "add", "shop", "--scope", "triggers,contacts")
	if code != 0 {
		t.Fatalf("apikeys add = %d: %s", code, errOut)
	}
	m := regexp.MustCompile(`(?m)^key: (pk_\S+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no key printed:\n%s", out)
	}
	if code, _, errOut := run("apikeys", "add", "bad", "--scope", "everything"); code != 1 || !strings.Contains(errOut, `unknown scope "everything"`) {
		t.Fatalf("unknown scope: exit %d, %q", code, errOut)
	}
	code, out, _ = run("apikeys", "list")
	if code != 0 || !strings.Contains(out, "shop") || !strings.Contains(out, "contacts,triggers") || strings.Contains(out, m[1]) {
		t.Fatalf("apikeys list = %d:\n%s", code, out)
	}
	db, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if k, err := db.APIKeyBySecret(m[1]); err != nil || k.Name != "shop" {
		t.Fatalf("printed key not recognised: %+v, %v", k, err)
	}
	db.Close()
	if code, out, errOut := run("apikeys", "revoke", "shop"); code != 0 || !strings.Contains(out, "revoked") {
		t.Fatalf("apikeys revoke = %d: %s %s", code, out, errOut)
	}
	if code, _, errOut := run("apikeys", "revoke", "nobody"); code != 1 || !strings.Contains(errOut, `no api key "nobody"`) {
		t.Fatalf("revoke unknown: exit %d, %q", code, errOut)
	}
	code, out, _ = run("apikeys", "list")
	if code != 0 || !strings.Contains(out, "revoked") {
		t.Fatalf("apikeys list after revoke = %d:\n%s", code, out)
	}
}
