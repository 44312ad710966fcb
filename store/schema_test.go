package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	bolt "go.etcd.io/bbolt"
)

// buildV1 writes a file as a schema-1 binary left it: primary buckets and
// records, no derived indexes.
func buildV1(t *testing.T, path string) {
	t.Helper()
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	put := func(tx *bolt.Tx, bucket, k []byte, v any) {
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Bucket(bucket).Put(k, data); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	err = bdb.Update(func(tx *bolt.Tx) error {
		if err := migrateV1(tx); err != nil {
			return err
		}
		put(tx, bContacts, []byte("c_1"), Contact{ID: "c_1", Identities: []string{"telegram:1"}, CreatedAt: at, UpdatedAt: at})
		put(tx, bContacts, []byte("c_2"), Contact{ID: "c_2", Identities: []string{"vk:2"}, CreatedAt: at, UpdatedAt: at})
		tx.Bucket(bIdentities).Put([]byte("telegram:1"), []byte("c_1"))
		tx.Bucket(bIdentities).Put([]byte("vk:2"), []byte("c_2"))
		put(tx, bTickets, u64(1), Ticket{ID: 1, ContactID: "c_1", Status: TicketResolved, CreatedAt: at})
		put(tx, bTickets, u64(2), Ticket{ID: 2, ContactID: "c_1", Status: TicketAssigned, AgentID: "a_1", CreatedAt: at})
		put(tx, bTickets, u64(3), Ticket{ID: 3, ContactID: "c_2", Status: TicketQueued, CreatedAt: at})
		tx.Bucket(bTickets).SetSequence(3)
		put(tx, bAgents, []byte("a_1"), agentRecord{Agent: Agent{ID: "a_1", Name: "Olga", Role: "agent"}, Hash: []byte("h")})
		tx.Bucket(bDedupe).Put([]byte("tg:7"), timeKey(at))
		// History in the per-contact key layout of schemas 1-3, written out
		// of order across contacts.
		seqs := map[string]uint64{}
		for _, m := range []Message{
			{ContactID: "c_2", Dir: DirIn, Text: "vk one", At: at},
			{ContactID: "c_1", Dir: DirIn, Text: "tg one", At: at},
			{ContactID: "c_1", Dir: DirOut, Text: "tg two", Sender: "bot", At: at.Add(time.Second)},
			{ContactID: "c_2", Dir: DirOut, Text: "vk two", At: at.Add(time.Second)},
			{ContactID: "c_1", Dir: DirIn, Text: "tg three", At: at.Add(2 * time.Second)},
		} {
			seqs[m.ContactID]++
			put(tx, bHistory, compositeKey(m.ContactID, seqs[m.ContactID]), m)
		}
		tx.Bucket(bSessions).Put([]byte("c_1"), []byte(`{"node":"menu"}`))
		return tx.Bucket(bMeta).Put(keySchema, u64(1))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestMigrateFromV1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	buildV1(t, path)
	clock := func() time.Time { return time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC) }
	db, err := Open(path, Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Check(); err != nil {
		t.Errorf("migrated file: %v", err)
	}
	if tk, ok, err := db.OpenTicketFor("c_1"); err != nil || !ok || tk.ID != 2 {
		t.Errorf("OpenTicketFor(c_1) = %d, %v, %v; want ticket 2", tk.ID, ok, err)
	}
	if tk, ok, _ := db.LastTicketFor("c_1"); !ok || tk.ID != 2 {
		t.Errorf("LastTicketFor(c_1) = %d, %v; want 2", tk.ID, ok)
	}
	queued, _ := db.Tickets(TicketQueued)
	if len(queued) != 1 || queued[0].ID != 3 {
		t.Errorf("Tickets(queued) = %+v", queued)
	}
	if a, err := db.AgentByName("olga"); err != nil || a.ID != "a_1" || string(a.PasswordHash) != "h" {
		t.Errorf("AgentByName = %+v, %v", a, err)
	}
	if _, dup, err := db.Enqueue(context.Background(), "c_1", "tg:7", nil); err != nil || !dup {
		t.Errorf("dedupe key from v1: dup=%v err=%v", dup, err)
	}
	if _, err := db.OpenTicket(context.Background(), Ticket{ContactID: "c_2"}); !errors.Is(err, ErrTicketOpen) {
		t.Errorf("open-ticket index not rebuilt: %v", err)
	}
	// History moved to the log: same messages, same seqs, and it grows on.
	texts := func(id string) []string {
		h, err := db.History(id, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range h {
			out = append(out, fmt.Sprintf("%d:%s", m.Seq, m.Text))
		}
		return out
	}
	if diff := cmp.Diff([]string{"1:tg one", "2:tg two", "3:tg three"}, texts("c_1")); diff != "" {
		t.Errorf("c_1 history after migration (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"1:vk one", "2:vk two"}, texts("c_2")); diff != "" {
		t.Errorf("c_2 history after migration (-want +got):\n%s", diff)
	}
	if _, err := db.Commit(context.Background(), Turn{ContactID: "c_2", Messages: []Message{{Dir: DirIn, Text: "vk three"}}}); err != nil {
		t.Fatal(err)
	}
	if got := texts("c_2"); len(got) != 3 || got[2] != "3:vk three" {
		t.Errorf("c_2 history after a new turn: %q", got)
	}
	if s, err := db.Session("c_1"); err != nil || string(s) != `{"node":"menu"}` {
		t.Errorf("session of c_1 after migration: %q, %v", s, err)
	}
	n := 0
	if err := db.Sessions(func(string, []byte) error { n++; return nil }); err != nil || n != 1 {
		t.Errorf("Sessions saw %d sessions (%v); want 1 (history heads are not sessions)", n, err)
	}
	if err := db.Check(); err != nil {
		t.Errorf("after a turn: %v", err)
	}
}

func TestSchemaNewerThanBinaryIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "future.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_ = bdb.Update(func(tx *bolt.Tx) error { return tx.Bucket(bMeta).Put(keySchema, u64(SchemaVersion()+1)) })
	bdb.Close()
	_, err = Open(path, Options{})
	want := fmt.Sprintf("schema version %d, this binary knows up to %d", SchemaVersion()+1, SchemaVersion())
	if !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), want) {
		t.Errorf("Open of a newer schema: %v", err)
	}
}

func TestReadOnlyRefusesOldSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	buildV1(t, path)
	if _, err := Open(path, Options{ReadOnly: true}); !errors.Is(err, ErrSchema) {
		t.Errorf("read-only open of schema 1: %v, want ErrSchema", err)
	}
}

// The mechanism itself: ordered, recorded one by one, a failure keeps the
// last good version and rolls its own changes back.
func TestRunMigrations(t *testing.T) {
	bdb, err := bolt.Open(filepath.Join(t.TempDir(), "m.db"), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	var ran []uint64
	step := func(v uint64) func(*bolt.Tx) error {
		return func(tx *bolt.Tx) error {
			ran = append(ran, v)
			_, err := tx.CreateBucketIfNotExists([]byte{byte('0' + v)})
			return err
		}
	}
	boom := errors.New("boom")
	list := []migration{{1, "one", step(1)}, {2, "two", step(2)},
		{3, "three", func(tx *bolt.Tx) error { step(3)(tx); return boom }}}
	err = runMigrations(bdb, 0, list)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "migration to schema 3 (three)") {
		t.Errorf("runMigrations = %v", err)
	}
	var version uint64
	var has3 bool
	bdb.View(func(tx *bolt.Tx) error {
		version, has3 = schemaOf(tx), tx.Bucket([]byte("3")) != nil
		return nil
	})
	if version != 2 || has3 {
		t.Errorf("after a failing migration 3: version %d, its bucket kept %v; want 2, false", version, has3)
	}
	if diff := cmp.Diff([]uint64{1, 2, 3}, ran); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	ran = nil
	list[2].up = step(3)
	if err := runMigrations(bdb, 2, list); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]uint64{3}, ran); diff != "" {
		t.Errorf("resumed migrations (-want +got):\n%s", diff)
	}
}

// Check finds broken invariants, not only bbolt page damage.
func TestCheckFindsBrokenInvariants(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	c, _, err := db.ResolveContact(ctx, "web:1", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Commit(ctx, Turn{ContactID: c.ID, Messages: []Message{{Dir: DirIn}, {Dir: DirIn}, {Dir: DirIn}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.OpenTicket(ctx, Ticket{ContactID: c.ID}); err != nil {
		t.Fatal(err)
	}
	if err := db.Check(); err != nil {
		t.Fatalf("healthy file: %v", err)
	}
	err = db.write(ctx, func(tx *bolt.Tx) error {
		tx.Bucket(bIdentities).Put([]byte("vk:9"), []byte("c_gone"))
		tx.Bucket(bMessages).Delete(u64(2)) // c's second message: its chain breaks
		tx.Bucket(bSessions).Put([]byte("c_ghost"), []byte("{}"))
		tx.Bucket(bSessions).Put(ringKey(c.ID), []byte("short"))
		return tx.Bucket(bTicketOpen).Delete([]byte(c.ID))
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Check()
	if err == nil {
		t.Fatal("Check found nothing")
	}
	for _, want := range []string{
		`identity "vk:9" points to missing contact "c_gone"`,
		"(seq 2) missing",
		`session of missing contact "c_ghost"`,
		"event ring", // malformed: 5 bytes
		"open ticket 1 is not the open-ticket index entry",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Check error lacks %q:\n%v", want, err)
		}
	}
}
