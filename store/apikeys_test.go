package store_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/parley-chat/parley/store"
)

func TestAPIKeys(t *testing.T) {
	db, _ := openClock(t)
	if _, err := db.APIKeyBySecret("pk_nothing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("lookup in an empty store = %v, want ErrNotFound", err)
	}
	k, secret, err := db.CreateAPIKey(ctx, "shop", []string{"triggers", "contacts", "triggers"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, k.Prefix) || len(secret) < 40 {
		t.Fatalf("secret %q does not start with prefix %q or is short", secret, k.Prefix)
	}
	if got := strings.Join(k.Scopes, ","); got != "contacts,triggers" {
		t.Fatalf("scopes = %s, want contacts,triggers (sorted, once)", got)
	}
	got, err := db.APIKeyBySecret(secret)
	if err != nil || got.ID != k.ID || !got.HasScope("triggers") || got.HasScope("broadcasts") {
		t.Fatalf("APIKeyBySecret = %+v, %v", got, err)
	}
	if _, err := db.APIKeyBySecret(secret + "x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a wrong secret = %v, want ErrNotFound", err)
	}
	// The secret itself is not in the file: only its hash.
	list, err := db.APIKeys()
	if err != nil || len(list) != 1 || list[0].Name != "shop" {
		t.Fatalf("APIKeys = %+v, %v", list, err)
	}
	if _, _, err := db.CreateAPIKey(ctx, "bad", []string{"everything"}); err == nil {
		t.Fatal("an unknown scope was accepted")
	}
	if _, _, err := db.CreateAPIKey(ctx, "none", nil); err == nil {
		t.Fatal("a key without scopes was accepted")
	}
	k2, _, err := db.CreateAPIKey(ctx, "shop", []string{"conversions"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.RevokeAPIKey(ctx, "shop"); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("revoking a shared name = %v, want ErrConflict", err)
	}
	r, err := db.RevokeAPIKey(ctx, k.ID)
	if err != nil || !r.Revoked() {
		t.Fatalf("RevokeAPIKey = %+v, %v", r, err)
	}
	if _, err := db.APIKeyBySecret(secret); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a revoked key = %v, want ErrNotFound", err)
	}
	// Now the name is unique among live keys.
	if r, err := db.RevokeAPIKey(ctx, "shop"); err != nil || r.ID != k2.ID {
		t.Fatalf("RevokeAPIKey by name = %+v, %v; want %s", r, err, k2.ID)
	}
	if _, err := db.RevokeAPIKey(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoking an unknown key = %v, want ErrNotFound", err)
	}
}
