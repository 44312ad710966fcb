package store_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/store"
	"github.com/parley-chat/parley/store/storetest"
)

// TestBackupCarriesNoErasedData: a hot backup taken right after an erasure
// holds none of the erased text (bbolt leaves it in free pages, which a
// byte copy of the file would carry), and everything else.
func TestBackupCarriesNoErasedData(t *testing.T) {
	db := storetest.Open(t)
	gone := mustContact(t, db, "telegram:501")
	kept := mustContact(t, db, "telegram:502")
	for i := range 150 {
		for _, c := range []store.Contact{gone, kept} {
			word := "KEEP"
			if c.ID == gone.ID {
				word = "ERASE"
			}
			if _, err := db.Commit(ctx, turnFor(c.ID, 0, fmt.Sprintf("%s-ME-%03d %s", word, i, strings.Repeat("x", 200)))); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := db.ForgetContact(ctx, gone.ID, "test"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	n, err := db.Backup(&buf)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("Backup: %d bytes, reported %d, %v", buf.Len(), n, err)
	}
	file := filepath.Join(t.TempDir(), "copy.db")
	if _, err := db.BackupToFile(file); err != nil {
		t.Fatal(err)
	}
	onDisk, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"Backup": buf.Bytes(), "BackupToFile": onDisk} {
		if i := bytes.Index(b, []byte("ERASE-ME")); i >= 0 {
			t.Errorf("%s: erased text at byte %d of %d", name, i, len(b))
		}
	}
	storetest.CheckFile(t, file)
	cp, err := store.Open(file, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	if h, err := cp.History(kept.ID, 0, 0); err != nil || len(h) != 300 {
		t.Errorf("kept contact in the copy: %d messages, %v", len(h), err)
	}
}

// TestForgetErasesFreeTextReasons: a handoff reason written by a flow can
// carry customer text; forget keeps a reason only when it is a label.
func TestForgetErasesFreeTextReasons(t *testing.T) {
	db := storetest.Open(t)
	c := mustContact(t, db, "telegram:601")
	const said = "клиент пишет: карта 4111 1111"
	for _, reason := range []string{"negative", said} {
		if _, err := db.Commit(ctx, store.Turn{ContactID: c.ID,
			Events: []store.Event{{Type: "handoff_requested", Data: map[string]string{"reason": reason, "priority": "high"}}}}); err != nil {
			t.Fatal(err)
		}
	}
	// A rating's comment is the customer's own words too.
	if _, err := db.Commit(ctx, store.Turn{ContactID: c.ID,
		Events: []store.Event{{Type: "ticket.csat", Data: map[string]string{"score": "2", "comment": said}}}}); err != nil {
		t.Fatal(err)
	}
	label, err := db.OpenTicket(ctx, store.Ticket{ContactID: c.ID, Reason: "complaint_delivery"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateTicket(ctx, label.ID, func(t *store.Ticket) error { t.Status = store.TicketResolved; return nil }); err != nil {
		t.Fatal(err)
	}
	free, err := db.OpenTicket(ctx, store.Ticket{ContactID: c.ID, Reason: said})
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.ForgetContact(ctx, c.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[uint64]string{label.ID: "complaint_delivery", free.ID: "[erased]"} {
		got, err := db.Ticket(id)
		if err != nil || got.Reason != want {
			t.Errorf("ticket %d: reason %q, want %q (%v)", id, got.Reason, want, err)
		}
	}
	var reasons []string
	if err := db.Events(time.Time{}, time.Now().Add(time.Hour), func(e store.Event) error {
		if e.ContactID == res.Anonymous && e.Type == "handoff_requested" {
			reasons = append(reasons, e.Data["reason"])
		}
		if e.ContactID == res.Anonymous && e.Type == "ticket.csat" && (e.Data["comment"] != "[erased]" || e.Data["score"] != "2") {
			t.Errorf("the rating after forget: %v, want its score kept and its comment erased", e.Data)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sort.Strings(reasons)
	if !slices.Equal(reasons, []string{"[erased]", "negative"}) {
		t.Errorf("event reasons %q", reasons)
	}
}

// TestExportAndForgetAgree: a contact into which others were merged (also
// in two steps) is one person: export shows and forget erases the same
// contact ids, and the events of every one of them.
func TestExportAndForgetAgree(t *testing.T) {
	db := storetest.Open(t)
	a := mustContact(t, db, "telegram:701")
	b := mustContact(t, db, "web:v-702")
	c := mustContact(t, db, "vk:703")
	other := mustContact(t, db, "vk:704")
	for _, x := range []store.Contact{a, b, c, other} {
		if _, err := db.Commit(ctx, store.Turn{ContactID: x.ID, Events: []store.Event{{Type: "note", Data: map[string]string{"who": x.ID}}}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Merge(ctx, b.ID, c.ID, store.MergeOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Merge(ctx, a.ID, b.ID, store.MergeOptions{}); err != nil {
		t.Fatal(err)
	}
	exp, err := db.ExportContact(a.ID)
	if err != nil {
		t.Fatal(err)
	}
	var exported []string
	for _, e := range exp.Events {
		if e.Type == "note" {
			exported = append(exported, e.Data["who"])
		}
	}
	sort.Strings(exported)
	want := []string{a.ID, b.ID, c.ID}
	sort.Strings(want)
	if !slices.Equal(exp.ContactIDs, want) || !slices.Equal(exported, want) || len(exp.Merges) != 2 {
		t.Errorf("export: ids %q, events of %q, %d merges; want %q and 2", exp.ContactIDs, exported, len(exp.Merges), want)
	}
	res, err := db.ForgetContact(ctx, a.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.ContactIDs, exp.ContactIDs) || res.Events != len(exp.Events) || res.Merges != 2 {
		t.Errorf("forget: ids %q, %d events, %d merges; export had %q", res.ContactIDs, res.Events, res.Merges, exp.ContactIDs)
	}
}

// BenchmarkBackup copies a store of 4,000 turns (8,000 messages) of which
// a quarter were erased.
func BenchmarkBackup(b *testing.B) {
	db := storetest.Open(b)
	var cs []store.Contact
	for i := range 40 {
		c, _, err := db.ResolveContact(ctx, fmt.Sprintf("telegram:%d", 900+i), "", "")
		if err != nil {
			b.Fatal(err)
		}
		cs = append(cs, c)
		for j := range 100 {
			if _, err := db.Commit(ctx, turnFor(c.ID, 0, fmt.Sprintf("message %d %s", j, strings.Repeat("y", 300)))); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, c := range cs[:10] {
		if _, err := db.ForgetContact(ctx, c.ID, "bench"); err != nil {
			b.Fatal(err)
		}
	}
	var size int64
	for b.Loop() {
		var buf bytes.Buffer
		n, err := db.Backup(&buf)
		if err != nil {
			b.Fatal(err)
		}
		size = n
	}
	b.ReportMetric(float64(size), "bytes/copy")
}
