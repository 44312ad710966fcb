package store_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-chat/parley/store"
)

// A channel's profile of an identity is kept on its contact, replaced when
// the channel says something new, bounded, moved by a merge with its
// identity and moved back by the merge's undo.
func TestProfilesFollowTheirIdentity(t *testing.T) {
	db, _ := openClock(t)
	tg, _, _ := db.ResolveContact(ctx, "telegram:1", "Anna", "ru")
	web, _, _ := db.ResolveContact(ctx, "web:v1", "", "")
	if err := db.SetProfile(ctx, "telegram:1", store.Profile{"name": "Anna K", "username": "anna_k"}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetProfile(ctx, "web:v1", store.Profile{"page": "https://shop.example/a", "browser": "Firefox 133 on Linux", "empty": " "}); err != nil {
		t.Fatal(err)
	}
	// The same profile again writes nothing.
	before, _ := db.Contact(web.ID)
	if err := db.SetProfile(ctx, "web:v1", store.Profile{"page": "https://shop.example/a", "browser": "Firefox 133 on Linux"}); err != nil {
		t.Fatal(err)
	}
	if again, _ := db.Contact(web.ID); again.Rev != before.Rev {
		t.Errorf("an unchanged profile wrote the contact: rev %d -> %d", before.Rev, again.Rev)
	}
	// A new page replaces the old one.
	if err := db.SetProfile(ctx, "web:v1", store.Profile{"page": "https://shop.example/b", "browser": "Firefox 133 on Linux"}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetProfile(ctx, "vk:404", store.Profile{"name": "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("profile of an unknown identity: %v, want ErrNotFound", err)
	}
	huge := store.Profile{"page": strings.Repeat("я", 1000)}
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"} {
		huge[k] = k
	}
	if err := db.SetProfile(ctx, "telegram:1", huge); err != nil {
		t.Fatal(err)
	}
	c, _ := db.Contact(tg.ID)
	if p := c.Profiles["telegram:1"]; len(p) != 8 || len(p["page"]) > 512 {
		t.Errorf("an unbounded profile was kept: %d keys, page of %d bytes", len(p), len(p["page"]))
	}
	if err := db.SetProfile(ctx, "telegram:1", store.Profile{"name": "Anna K", "username": "anna_k"}); err != nil {
		t.Fatal(err)
	}

	res, err := db.Merge(ctx, tg.ID, web.ID, store.MergeOptions{Reason: "link_code"})
	if err != nil {
		t.Fatal(err)
	}
	merged, _ := db.Contact(tg.ID)
	want := map[string]store.Profile{
		"telegram:1": {"name": "Anna K", "username": "anna_k"},
		"web:v1":     {"page": "https://shop.example/b", "browser": "Firefox 133 on Linux"},
	}
	if diff := cmp.Diff(want, merged.Profiles); diff != "" {
		t.Errorf("merged profiles (-want +got):\n%s", diff)
	}
	if _, err := db.UndoMerge(ctx, res.Record.ID, "lead"); err != nil {
		t.Fatal(err)
	}
	back, _ := db.Contact(web.ID)
	kept, _ := db.Contact(tg.ID)
	if diff := cmp.Diff(map[string]store.Profile{"web:v1": want["web:v1"]}, back.Profiles); diff != "" {
		t.Errorf("profiles back with the undone contact (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]store.Profile{"telegram:1": want["telegram:1"]}, kept.Profiles); diff != "" {
		t.Errorf("profiles left with the survivor (-want +got):\n%s", diff)
	}
}
