package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/store"
)

// A channel's profile of an identity is kept on its contact, replaced when
// the channel says something new, bounded, moved by a merge with its
// identity, moved back by the merge's undo, exported and forgotten
// (ported from the bbolt store's profile_test.go).
func contractProfiles(t *testing.T, open Opener) {
	db, clk := openAt(t, open)
	tg, _, _ := db.ResolveContact(cctx, "telegram:1", "Anna", "ru")
	web, _, _ := db.ResolveContact(cctx, "web:v1", "", "")
	if err := db.SetProfile(cctx, "telegram:1", store.Profile{"name": "Anna K", "username": "anna_k"}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	if err := db.SetProfile(cctx, "web:v1", store.Profile{"page": "https://shop.example/a", "browser": "Firefox 133 on Linux", "empty": " "}); err != nil {
		t.Fatal(err)
	}
	before, _ := db.Contact(web.ID)
	same(t, "profiles after SetProfile (empty values dropped)",
		map[string]store.Profile{"web:v1": {"page": "https://shop.example/a", "browser": "Firefox 133 on Linux"}}, before.Profiles)
	if before.Rev == web.Rev || !before.UpdatedAt.After(web.UpdatedAt) {
		t.Errorf("a new profile did not bump the contact: rev %d -> %d, updated %v -> %v", web.Rev, before.Rev, web.UpdatedAt, before.UpdatedAt)
	}
	// The same profile again writes nothing.
	clk.Advance(time.Second)
	if err := db.SetProfile(cctx, "web:v1", store.Profile{"page": "https://shop.example/a", "browser": "Firefox 133 on Linux"}); err != nil {
		t.Fatal(err)
	}
	if again, _ := db.Contact(web.ID); again.Rev != before.Rev || !again.UpdatedAt.Equal(before.UpdatedAt) {
		t.Errorf("an unchanged profile wrote the contact: rev %d -> %d", before.Rev, again.Rev)
	}
	// A turn that read the contact before the profile changed is stale.
	if _, err := db.Commit(cctx, store.Turn{ContactID: web.ID, Contact: &web}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("turn with a contact read before SetProfile: %v, want ErrConflict", err)
	}
	// A new page replaces the old one.
	if err := db.SetProfile(cctx, "web:v1", store.Profile{"page": "https://shop.example/b", "browser": "Firefox 133 on Linux"}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetProfile(cctx, "vk:404", store.Profile{"name": "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("profile of an unknown identity: %v, want ErrNotFound", err)
	}
	if err := db.SetProfile(cctx, "nocolon", store.Profile{"name": "x"}); err == nil {
		t.Error("profile of an invalid identity accepted")
	}
	huge := store.Profile{"page": strings.Repeat("я", 1000)}
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"} {
		huge[k] = k
	}
	if err := db.SetProfile(cctx, "telegram:1", huge); err != nil {
		t.Fatal(err)
	}
	c, _ := db.Contact(tg.ID)
	if p := c.Profiles["telegram:1"]; len(p) != 8 || len(p["page"]) > 512 {
		t.Errorf("an unbounded profile was kept: %d keys, page of %d bytes", len(p), len(p["page"]))
	}
	// An empty profile removes what was said.
	if err := db.SetProfile(cctx, "telegram:1", store.Profile{}); err != nil {
		t.Fatal(err)
	}
	if c, _ := db.Contact(tg.ID); c.Profiles != nil {
		t.Errorf("profiles after an empty one: %v, want none", c.Profiles)
	}
	if err := db.SetProfile(cctx, "telegram:1", store.Profile{"name": "Anna K", "username": "anna_k"}); err != nil {
		t.Fatal(err)
	}

	res, err := db.Merge(cctx, tg.ID, web.ID, store.MergeOptions{Reason: "link_code"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]store.Profile{
		"telegram:1": {"name": "Anna K", "username": "anna_k"},
		"web:v1":     {"page": "https://shop.example/b", "browser": "Firefox 133 on Linux"},
	}
	same(t, "merge result's profiles", want, res.Contact.Profiles)
	merged, _ := db.Contact(tg.ID)
	same(t, "merged profiles", want, merged.Profiles)
	byIdentity, _ := db.ContactByIdentity("web:v1")
	same(t, "merged profiles by identity", want, byIdentity.Profiles)
	// What the channel says after the merge goes back with the identity.
	want["web:v1"] = store.Profile{"page": "https://shop.example/c"}
	if err := db.SetProfile(cctx, "web:v1", want["web:v1"]); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UndoMerge(cctx, res.Record.ID, "lead"); err != nil {
		t.Fatal(err)
	}
	back, _ := db.Contact(web.ID)
	kept, _ := db.Contact(tg.ID)
	same(t, "profiles back with the undone contact", map[string]store.Profile{"web:v1": want["web:v1"]}, back.Profiles)
	same(t, "profiles left with the survivor", map[string]store.Profile{"telegram:1": want["telegram:1"]}, kept.Profiles)

	exp, err := db.ExportContact(tg.ID)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "exported profiles", map[string]store.Profile{"telegram:1": want["telegram:1"]}, exp.Contact.Profiles)
	if _, err := db.ForgetContact(cctx, tg.ID, "admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ContactByIdentity("telegram:1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("identity after forget: %v, want ErrNotFound", err)
	}
	// A new contact on the forgotten identity starts without a profile.
	again, _, _ := db.ResolveContact(cctx, "telegram:1", "", "")
	if again.Profiles != nil {
		t.Errorf("a new contact on a forgotten identity has profiles %v", again.Profiles)
	}
}

// Profiles written while the identity's contact is merged and unmerged
// land whole on whichever contact holds the identity, and the last one
// wins.
func contractProfilesDuringMerges(t *testing.T, open Opener) {
	db, clk := openAt(t, open)
	tg := contact(t, db, "telegram:1")
	web := contact(t, db, "web:v1")
	done := make(chan error, 1)
	go func() {
		for i := range 5 {
			res, err := db.Merge(cctx, tg.ID, web.ID, store.MergeOptions{})
			if err != nil {
				done <- err
				return
			}
			clk.Advance(time.Second)
			if _, err := db.UndoMerge(cctx, res.Record.ID, fmt.Sprint("lead ", i)); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for i := range 30 {
		if err := db.SetProfile(cctx, "web:v1", store.Profile{"page": fmt.Sprint("https://shop.example/", i)}); err != nil {
			t.Errorf("SetProfile %d during merges: %v", i, err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	c, err := db.ContactByIdentity("web:v1")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "the identity's profile after the merges", map[string]store.Profile{"web:v1": {"page": "https://shop.example/29"}}, c.Profiles)
	if kept, _ := db.Contact(tg.ID); kept.Profiles != nil {
		t.Errorf("the survivor kept %v", kept.Profiles)
	}
}
