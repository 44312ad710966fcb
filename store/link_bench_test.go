package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/parley-chat/parley/store"
)

// BenchmarkMergeAndUndo links two contacts with 500 history messages each
// and undoes it: both histories are rewritten each way, the cost a lead's
// undo or a customer's link pays (fsync on).
func BenchmarkMergeAndUndo(b *testing.B) {
	db, err := store.Open(filepath.Join(b.TempDir(), "bench.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	a, _, _ := db.ResolveContact(ctx, "telegram:100", "", "")
	w, _, _ := db.ResolveContact(ctx, "web:v1", "", "")
	for i := range 250 {
		for _, c := range []store.Contact{a, w} {
			t := benchTurn(c.ID, i)
			t.Outbox, t.Session = nil, nil
			if _, err := db.Commit(ctx, t); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := db.Merge(ctx, a.ID, w.ID, store.MergeOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.UndoMerge(ctx, res.Record.ID, fmt.Sprint("bench", i)); err != nil {
			b.Fatal(err)
		}
	}
}
