package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/store"
)

// Saved replies, cascades, API keys and consent (ported from the bbolt
// store's replies_test.go, apikeys_test.go and outbound_test.go).

func contractSavedReplies(t *testing.T, open Opener) {
	db, clk := openAt(t, open)
	if rs, err := db.SavedReplies(); err != nil || len(rs) != 0 {
		t.Fatalf("a new database has saved replies %v, %v", rs, err)
	}
	created, err := db.PutSavedReply(cctx, store.SavedReply{ID: "late", Title: "Опоздание", Text: "Курьер задерживается, {{ contact.name }}.", Lang: "ru", UpdatedBy: "lena"})
	if err != nil || !created {
		t.Fatalf("put: created %v, %v", created, err)
	}
	clk.Advance(time.Minute)
	created, err = db.PutSavedReply(cctx, store.SavedReply{ID: "late", Title: "Опоздание", Text: "Курьер будет завтра.", UpdatedBy: "boss"})
	if err != nil || created {
		t.Fatalf("replace: created %v, %v", created, err)
	}
	if _, err := db.PutSavedReply(cctx, store.SavedReply{ID: "early", Text: "Рано", Title: "a"}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []store.SavedReply{{ID: "empty"}, {Text: "no id"}, {ID: "long", Text: strings.Repeat("x", store.MaxSavedReplyText+1)},
		{ID: "bad", Text: "\xff"}} {
		if _, err := db.PutSavedReply(cctx, bad); err == nil {
			t.Errorf("saved reply %q of %d bytes stored", bad.ID, len(bad.Text))
		}
	}
	// A position is not a reply.
	if err := db.SetPosition(cctx, "vk", "42"); err != nil {
		t.Fatal(err)
	}
	rs, err := db.SavedReplies()
	same(t, "saved replies", []store.SavedReply{
		{ID: "early", Title: "a", Text: "Рано", UpdatedAt: ct0.Add(time.Minute)},
		{ID: "late", Title: "Опоздание", Text: "Курьер будет завтра.", UpdatedBy: "boss", UpdatedAt: ct0.Add(time.Minute)},
	}, rs)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteSavedReply(cctx, "late"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteSavedReply(cctx, "late"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
	if rs, _ := db.SavedReplies(); len(rs) != 1 || rs[0].ID != "early" {
		t.Errorf("after delete: %+v", rs)
	}
}

func contractSavedRepliesLimit(t *testing.T, open Opener) {
	db, _ := openAt(t, open)
	for i := range store.MaxSavedReplies {
		if _, err := db.PutSavedReply(cctx, store.SavedReply{ID: fmt.Sprint("r", i), Text: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.PutSavedReply(cctx, store.SavedReply{ID: "one-more", Text: "t"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("reply %d: %v, want ErrConflict", store.MaxSavedReplies+1, err)
	}
	if created, err := db.PutSavedReply(cctx, store.SavedReply{ID: "r0", Text: "replaced"}); err != nil || created {
		t.Errorf("replacing at the limit: created %v, %v", created, err)
	}
}

func contractCascades(t *testing.T, open Opener) {
	db, _ := openAt(t, open)
	if _, err := db.Cascade("x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing cascade: %v, want ErrNotFound", err)
	}
	if list, err := db.Cascades(); err != nil || len(list) != 0 {
		t.Errorf("cascades of a new store: %v, %v", list, err)
	}
	if err := db.PutCascade(cctx, "b", []byte(`{"step":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := db.PutCascade(cctx, "a", []byte(`{"step":0}`)); err != nil {
		t.Fatal(err)
	}
	if err := db.PutCascade(cctx, "b", []byte(`{"step":2}`)); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"", strings.Repeat("i", 129)} {
		if err := db.PutCascade(cctx, id, []byte("{}")); err == nil {
			t.Errorf("cascade id %q accepted", id)
		}
	}
	if err := db.PutCascade(cctx, "big", make([]byte, store.MaxValue+1)); err == nil {
		t.Error("an oversized cascade was accepted")
	}
	got, err := db.Cascade("b")
	same(t, "cascade b", `{"step":2}`, string(got))
	if err != nil {
		t.Fatal(err)
	}
	list, err := db.Cascades()
	same(t, "cascades", []store.CascadeRecord{{ID: "a", Data: []byte(`{"step":0}`)}, {ID: "b", Data: []byte(`{"step":2}`)}}, list)
	if err != nil {
		t.Fatal(err)
	}
}

func contractAPIKeys(t *testing.T, open Opener) {
	db, clk := openAt(t, open)
	if _, err := db.APIKeyBySecret("pk_nothing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("lookup in an empty store = %v, want ErrNotFound", err)
	}
	if _, err := db.APIKeyBySecret("not a key"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("lookup of a non-key = %v, want ErrNotFound", err)
	}
	k, secret, err := db.CreateAPIKey(cctx, " shop ", []string{"triggers", "contacts", "triggers"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, k.Prefix) || len(secret) < 40 || k.Name != "shop" || !k.CreatedAt.Equal(ct0) {
		t.Fatalf("key %+v, secret %q", k, secret)
	}
	same(t, "scopes (sorted, once)", []string{"contacts", "triggers"}, k.Scopes)
	got, err := db.APIKeyBySecret(secret)
	same(t, "key by secret", k, got)
	if err != nil || !got.HasScope("triggers") || got.HasScope("broadcasts") {
		t.Fatalf("APIKeyBySecret = %+v, %v", got, err)
	}
	if _, err := db.APIKeyBySecret(secret + "x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a wrong secret = %v, want ErrNotFound", err)
	}
	for _, bad := range []struct {
		name   string
		scopes []string
	}{{"bad", []string{"everything"}}, {"none", nil}, {" ", []string{"triggers"}}, {strings.Repeat("n", 300), []string{"triggers"}}} {
		if _, _, err := db.CreateAPIKey(cctx, bad.name, bad.scopes); err == nil {
			t.Errorf("key %q with scopes %v accepted", bad.name, bad.scopes)
		}
	}
	clk.Advance(time.Second)
	k2, _, err := db.CreateAPIKey(cctx, "shop", []string{"conversions"})
	if err != nil {
		t.Fatal(err)
	}
	if list, err := db.APIKeys(); err != nil || len(list) != 2 || list[0].ID != k.ID || list[1].ID != k2.ID {
		t.Fatalf("APIKeys = %+v, %v; want oldest first", list, err)
	}
	if _, err := db.RevokeAPIKey(cctx, "shop"); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("revoking a shared name = %v, want ErrConflict", err)
	}
	clk.Advance(time.Second)
	r, err := db.RevokeAPIKey(cctx, k.ID)
	if err != nil || !r.Revoked() || !r.RevokedAt.Equal(ct0.Add(2*time.Second)) {
		t.Fatalf("RevokeAPIKey = %+v, %v", r, err)
	}
	clk.Advance(time.Second)
	if again, err := db.RevokeAPIKey(cctx, k.ID); err != nil || !again.RevokedAt.Equal(r.RevokedAt) {
		t.Errorf("revoking again = %+v, %v; want no error, the first time kept", again, err)
	}
	if _, err := db.APIKeyBySecret(secret); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a revoked key = %v, want ErrNotFound", err)
	}
	if r, err := db.RevokeAPIKey(cctx, "shop"); err != nil || r.ID != k2.ID {
		t.Fatalf("RevokeAPIKey by name = %+v, %v; want %s", r, err, k2.ID)
	}
	if _, err := db.RevokeAPIKey(cctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoking an unknown key = %v, want ErrNotFound", err)
	}
	list, _ := db.APIKeys()
	if len(list) != 2 || !list[0].Revoked() || !list[1].Revoked() {
		t.Errorf("APIKeys after revoking = %+v", list)
	}
}

func contractConsent(t *testing.T, open Opener) {
	db, clk := openAt(t, open)
	c := contact(t, db, "telegram:1")
	if out, err := db.OptedOut(c.ID, "telegram"); out || err != nil {
		t.Fatalf("OptedOut of a fresh contact = %v, %v", out, err)
	}
	if changed, err := db.SetConsent(cctx, c.ID, "telegram", false, "api"); changed || err != nil {
		t.Fatalf("consenting by default = %v, %v; want no change", changed, err)
	}
	if changed, err := db.SetConsent(cctx, c.ID, "telegram", true, "message"); !changed || err != nil {
		t.Fatalf("SetConsent = %v, %v", changed, err)
	}
	clk.Advance(time.Minute)
	if changed, _ := db.SetConsent(cctx, c.ID, "telegram", true, "message"); changed {
		t.Fatal("a second opt-out counted as a change")
	}
	if out, _ := db.OptedOut(c.ID, "telegram"); !out {
		t.Fatal("opt-out not recorded")
	}
	if out, _ := db.OptedOut(c.ID, "sms"); out {
		t.Fatal("opt-out leaked to another channel")
	}
	list, err := db.Consents(c.ID)
	same(t, "consents", []store.Consent{{Channel: "telegram", OptedOut: true, At: ct0, Source: "message"}}, list)
	if err != nil {
		t.Fatal(err)
	}
	if changed, _ := db.SetConsent(cctx, c.ID, "telegram", false, "api"); !changed {
		t.Fatal("opt-in not a change")
	}
	if out, _ := db.OptedOut(c.ID, "telegram"); out {
		t.Fatal("opt-in not recorded")
	}
	if _, err := db.SetConsent(cctx, "c_nobody", "telegram", true, ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("consent of a missing contact = %v", err)
	}
	for _, ch := range []string{"", "a\x00b", strings.Repeat("c", 65)} {
		if _, err := db.SetConsent(cctx, c.ID, ch, true, ""); err == nil {
			t.Errorf("consent channel %q accepted", ch)
		}
	}
}

// A merge gives the survivor the absorbed contact's opt-outs (an opt-out
// wins over its own consent, its own opt-out stays); the undo gives the
// absorbed contact its own back; forgetting erases them all.
func contractConsentMergeForget(t *testing.T, open Opener) {
	db, _ := openAt(t, open)
	a := contact(t, db, "telegram:1")
	b := contact(t, db, "vk:2")
	for _, s := range []struct {
		c   store.Contact
		ch  string
		out bool
	}{{b, "vk", true}, {a, "email", true}, {b, "email", true}, {a, "sms", true}, {a, "sms", false}, {b, "sms", true}} {
		if _, err := db.SetConsent(cctx, s.c.ID, s.ch, s.out, "message"); err != nil {
			t.Fatal(err)
		}
	}
	res, err := db.Merge(cctx, a.ID, b.ID, store.MergeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for ch, want := range map[string]bool{"vk": true, "email": true, "sms": true, "telegram": false} {
		if out, _ := db.OptedOut(a.ID, ch); out != want {
			t.Errorf("merged contact opted out of %s: %v, want %v", ch, out, want)
		}
	}
	if _, err := db.UndoMerge(cctx, res.Record.ID, "lead"); err != nil {
		t.Fatal(err)
	}
	if list, _ := db.Consents(b.ID); len(list) != 3 {
		t.Errorf("the undone contact's consent: %+v, want its 3 records", list)
	}
	if _, err := db.MergeContacts(cctx, a.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ForgetContact(cctx, a.ID, "test"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{a.ID, b.ID} {
		if list, _ := db.Consents(id); len(list) != 0 {
			t.Errorf("consent of %s survived the erasure: %+v", id, list)
		}
	}
}
