package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley-chat/parley/store"
)

// Attachments, by the bbolt store's rules (store/files.go): kept in the
// database with the conversation, erased with the person, their bytes
// dropped by the retention cleanup while the record stays.

func scanFile(row pgx.Row, data *[]byte) (store.File, error) {
	var f store.File
	var err error
	if data != nil {
		err = row.Scan(&f, data)
	} else {
		err = row.Scan(&f)
	}
	f.At = f.At.UTC()
	if !f.Erased.IsZero() {
		f.Erased = f.Erased.UTC()
	}
	return f, err
}

// PutFile stores data as a file of contact f.ContactID and returns the
// record with its id, size, hash, kind and time filled in; ErrNotFound
// when the contact does not exist.
func (db *DB) PutFile(ctx context.Context, f store.File, data []byte) (store.File, error) {
	f, err := store.PrepareFile(f, data, db.now())
	if err != nil {
		return store.File{}, err
	}
	doc, err := json.Marshal(f)
	if err != nil {
		return store.File{}, err
	}
	err = db.tx(ctx, func(tx pgx.Tx) error {
		// The contact's row lock orders this with a merge or an erasure.
		if err := tx.QueryRow(ctx, "SELECT id FROM contacts WHERE id = $1 FOR SHARE", f.ContactID).Scan(new(string)); noRows(err) {
			return fmt.Errorf("store: contact %q: %w", f.ContactID, store.ErrNotFound)
		} else if err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO files (id, contact_id, at, doc, data) VALUES ($1, $2, $3, $4, $5)",
			f.ID, f.ContactID, f.At, doc, data)
		return err
	})
	if err != nil {
		return store.File{}, err
	}
	return f, nil
}

// File returns the record of file id.
func (db *DB) File(id string) (store.File, error) {
	if !store.ValidFileID(id) {
		return store.File{}, fmt.Errorf("file %q: %w", id, store.ErrNotFound)
	}
	f, err := scanFile(db.pool.QueryRow(context.Background(), "SELECT doc FROM files WHERE id = $1", id), nil)
	if noRows(err) {
		return store.File{}, fmt.Errorf("file %q: %w", id, store.ErrNotFound)
	}
	return f, mapErr(err)
}

// FileData returns file id's record and bytes. A file the retention cleanup
// emptied returns its record and ErrFileErased.
func (db *DB) FileData(id string) (store.File, []byte, error) {
	if !store.ValidFileID(id) {
		return store.File{}, nil, fmt.Errorf("file %q: %w", id, store.ErrNotFound)
	}
	var data []byte
	f, err := scanFile(db.pool.QueryRow(context.Background(), "SELECT doc, data FROM files WHERE id = $1", id), &data)
	switch {
	case noRows(err):
		return store.File{}, nil, fmt.Errorf("file %q: %w", id, store.ErrNotFound)
	case err != nil:
		return store.File{}, nil, mapErr(err)
	case !f.Erased.IsZero():
		return f, nil, store.ErrFileErased
	case int64(len(data)) != f.Size:
		return f, nil, fmt.Errorf("store: file %s has %d of its %d bytes", f.ID, len(data), f.Size)
	}
	return f, data, nil
}

// FileOf returns file id's record if it belongs to contact contactID or to
// a contact merged into it (one person), else ErrNotFound.
func (db *DB) FileOf(contactID, id string) (store.File, error) {
	f, err := db.File(id)
	if err != nil || f.ContactID == contactID {
		return f, err
	}
	ids, _, err := personIDs(context.Background(), db.pool, contactID)
	if err != nil {
		return store.File{}, mapErr(err)
	}
	if !ids[f.ContactID] {
		return store.File{}, fmt.Errorf("file %q: %w", id, store.ErrNotFound)
	}
	return f, nil
}

// PruneFiles removes the bytes of the files stored before cutoff, keeping
// their records. It returns how many files it emptied and their bytes.
func (db *DB) PruneFiles(ctx context.Context, cutoff time.Time) (files int, size int64, err error) {
	now := db.now()
	erased, err := json.Marshal(now)
	if err != nil {
		return 0, 0, err
	}
	// at < cutoff, with at in microseconds: before the next whole one.
	if c := pgTime(cutoff); !c.Equal(cutoff) {
		cutoff = c.Add(time.Microsecond)
	}
	err = db.tx(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `WITH pruned AS (
			UPDATE files SET data = NULL, doc = jsonb_set(doc, '{erased}', $2::jsonb)
			WHERE at < $1 AND data IS NOT NULL AND NOT doc ? 'erased'
			RETURNING (doc ->> 'size')::bigint AS size)
			SELECT count(*), coalesce(sum(size), 0) FROM pruned`, cutoff, string(erased)).Scan(&files, &size)
	})
	return files, size, err
}

// filesOfPerson returns the files of the contacts in ids in id order
// (oldest first), with their bytes when withData.
func filesOfPerson(ctx context.Context, q querier, ids []string, withData bool) ([]store.FileExport, error) {
	sql := "SELECT doc FROM files WHERE contact_id = ANY($1) ORDER BY id"
	if withData {
		sql = "SELECT doc, data FROM files WHERE contact_id = ANY($1) ORDER BY id"
	}
	rows, err := q.Query(ctx, sql, ids)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.FileExport, error) {
		var fe store.FileExport
		var err error
		if withData {
			fe.File, err = scanFile(r, &fe.Data)
			if len(fe.Data) == 0 {
				fe.Data = nil
			}
		} else {
			fe.File, err = scanFile(r, nil)
		}
		return fe, err
	})
}
