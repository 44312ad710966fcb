package store_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/parley-chat/parley/store"
)

// The durable message path: record the inbound event (deduped by its
// channel event id) before acknowledging the channel, then commit the whole
// turn, consuming the inbox entry, in one transaction.
func Example() {
	dir, err := os.MkdirTemp("", "parley-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := store.Open(filepath.Join(dir, "data", "parley.db"), store.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()

	c, created, _ := db.ResolveContact(ctx, "telegram:42", "Anna", "ru")
	seq, dup, _ := db.Enqueue(ctx, c.ID, "tg:1001", []byte(`{"text":"Где мой заказ?"}`))
	fmt.Println("new contact:", created, "inbox seq:", seq, "duplicate:", dup)
	_, dup, _ = db.Enqueue(ctx, c.ID, "tg:1001", []byte(`{"text":"Где мой заказ?"}`))
	fmt.Println("redelivered update is a duplicate:", dup)

	res, err := db.Commit(ctx, store.Turn{
		ContactID: c.ID,
		InboxSeq:  seq,
		Session:   []byte(`{"flow":"delivery","node":"ask_order"}`),
		Messages: []store.Message{
			{Dir: store.DirIn, Channel: "telegram", Text: "Где мой заказ?", Sender: "customer"},
			{Dir: store.DirOut, Channel: "telegram", Text: "Пришлите номер заказа", Sender: "bot"},
		},
		Outbox: []store.OutboxEntry{{Address: "telegram:42", Data: []byte(`{"text":"Пришлите номер заказа"}`)}},
		Events: []store.Event{{Type: "node", Flow: "delivery", Node: "ask_order"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	pending, _ := db.PendingInbox()
	fmt.Println("message seqs:", res.MessageSeqs, "outbox ids:", res.OutboxIDs, "inbox left:", len(pending))
	fmt.Println("check:", db.Check())
	// Output:
	// new contact: true inbox seq: 1 duplicate: false
	// redelivered update is a duplicate: true
	// message seqs: [1 2] outbox ids: [1] inbox left: 0
	// check: <nil>
}
