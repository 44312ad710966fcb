package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Attachments (the customers' photos and files, the agents' files) are kept
// in the database file itself, not in a directory beside it: `parley
// backup` copies them with the conversation they belong to, ForgetContact
// erases them in the same transaction as the contact (no half-erased
// person after a crash), and nothing on disk can go out of step with the
// records. The cost is a larger file, bounded by the operator's size limit
// and the lead's retention (PruneFiles). bbolt keeps big values badly (one
// value must fit in memory and in consecutive pages), so the bytes are cut
// into fileChunk pieces under keys <file id><chunk number>.
//
// The buckets are made by the first write, so a database without any
// attachment has none and needs no schema change.
var (
	bFiles    = []byte("files")
	bFileData = []byte("file_data")
)

// fileChunk is the size of one stored piece of a file.
const fileChunk = 256 << 10

// MaxFileBytes is the hard upper limit of one attachment, whatever the
// configuration says: a file is read into memory whole.
const MaxFileBytes = 64 << 20

// ErrFileErased: the file's bytes were removed by the retention cleanup;
// its record (name, type, size) is kept with the conversation.
var ErrFileErased = errors.New("store: file erased by the retention policy")

// FilePrefix starts every file id.
const FilePrefix = "f_"

// File is the record of one stored attachment.
type File struct {
	ID        string `json:"id"`
	ContactID string `json:"contact_id"`
	// Kind is "image" when Type is an image type, else "file".
	Kind string `json:"kind"`
	Name string `json:"name,omitempty"`
	// Type is the content type sniffed from the bytes (never the client's).
	Type   string `json:"type"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// Sender is "customer" or "agent:<id>".
	Sender string `json:"sender"`
	// Source is where the bytes came from ("telegram", "vk", "web", "console").
	Source string    `json:"source,omitempty"`
	At     time.Time `json:"at"`
	// Erased is when the retention cleanup removed the bytes (zero: kept).
	Erased time.Time `json:"erased,omitzero"`
}

// FileExport is a file with its bytes, for ExportContact.
type FileExport struct {
	File
	Data []byte `json:"data,omitempty"` // base64 in JSON
}

// AttachmentRef is the form a stored file takes in Message.Attachments:
// "<kind>:parley:<id>", with " (<name>)" when it has a name, the same shape
// as the references to files kept only by their channel ("photo:tg:file:…").
func AttachmentRef(f File) string {
	ref := f.Kind + ":parley:" + f.ID
	if f.Name != "" {
		ref += " (" + f.Name + ")"
	}
	return ref
}

// ParseAttachmentRef returns the file id of a reference AttachmentRef made,
// or ok false for any other reference.
func ParseAttachmentRef(ref string) (id string, ok bool) {
	_, rest, found := strings.Cut(ref, ":parley:")
	if !found {
		return "", false
	}
	id, _, _ = strings.Cut(rest, " ")
	if !validFileID(id) {
		return "", false
	}
	return id, true
}

func validFileID(id string) bool {
	if !strings.HasPrefix(id, FilePrefix) || len(id) > 40 || len(id) <= len(FilePrefix) {
		return false
	}
	for _, c := range id[len(FilePrefix):] {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// FileKind is "image" for an image content type, else "file".
func FileKind(contentType string) string {
	if strings.HasPrefix(contentType, "image/") {
		return "image"
	}
	return "file"
}

// PutFile stores data as a file of contact f.ContactID and returns the
// record with its id, size, hash, kind and time filled in. f.Type must be
// set (the caller sniffs it); the caller checks its own limits, the store
// only MaxFileBytes.
func (db *DB) PutFile(ctx context.Context, f File, data []byte) (File, error) {
	if err := validContactID(f.ContactID); err != nil {
		return File{}, err
	}
	if len(data) == 0 {
		return File{}, errors.New("store: file is empty")
	}
	if len(data) > MaxFileBytes {
		return File{}, fmt.Errorf("store: file is %d bytes; the limit is %d", len(data), MaxFileBytes)
	}
	if f.Type == "" {
		return File{}, errors.New("store: file has no content type")
	}
	now := db.now()
	sum := sha256.Sum256(data)
	f.ID, f.At, f.Size, f.SHA256 = newID(FilePrefix, now), now, int64(len(data)), hex.EncodeToString(sum[:])
	f.Kind, f.Name, f.Erased = FileKind(f.Type), clip(f.Name, 255), time.Time{}
	err := db.write(ctx, func(tx *bolt.Tx) error {
		if _, err := getContact(tx, f.ContactID); err != nil {
			return err
		}
		meta, err := tx.CreateBucketIfNotExists(bFiles)
		if err != nil {
			return err
		}
		chunks, err := tx.CreateBucketIfNotExists(bFileData)
		if err != nil {
			return err
		}
		if err := putJSON(meta, []byte(f.ID), f); err != nil {
			return err
		}
		for i := 0; i*fileChunk < len(data); i++ {
			piece := data[i*fileChunk : min((i+1)*fileChunk, len(data))]
			if err := chunks.Put(chunkKey(f.ID, i), piece); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return File{}, err
	}
	return f, nil
}

func chunkKey(id string, i int) []byte {
	k := make([]byte, 0, len(id)+4)
	k = append(k, id...)
	return append(k, byte(i>>24), byte(i>>16), byte(i>>8), byte(i))
}

// File returns the record of file id.
func (db *DB) File(id string) (File, error) {
	var f File
	err := db.view(func(tx *bolt.Tx) (err error) {
		f, err = getFile(tx, id)
		return err
	})
	return f, err
}

func getFile(tx *bolt.Tx, id string) (File, error) {
	b := tx.Bucket(bFiles)
	if b == nil || !validFileID(id) {
		return File{}, fmt.Errorf("file %q: %w", id, ErrNotFound)
	}
	v := b.Get([]byte(id))
	if v == nil {
		return File{}, fmt.Errorf("file %q: %w", id, ErrNotFound)
	}
	var f File
	if err := json.Unmarshal(v, &f); err != nil {
		return File{}, fmt.Errorf("store: file %s: %w", id, err)
	}
	return f, nil
}

// FileData returns file id's record and bytes. A file the retention cleanup
// emptied returns its record and ErrFileErased.
func (db *DB) FileData(id string) (File, []byte, error) {
	var f File
	var data []byte
	err := db.view(func(tx *bolt.Tx) (err error) {
		if f, err = getFile(tx, id); err != nil {
			return err
		}
		if !f.Erased.IsZero() {
			return ErrFileErased
		}
		data, err = readChunks(tx, f)
		return err
	})
	return f, data, err
}

func readChunks(tx *bolt.Tx, f File) ([]byte, error) {
	data := make([]byte, 0, f.Size)
	if b := tx.Bucket(bFileData); b != nil {
		c := b.Cursor()
		for k, v := c.Seek([]byte(f.ID)); k != nil && len(k) == len(f.ID)+4 && bytes.HasPrefix(k, []byte(f.ID)); k, v = c.Next() {
			data = append(data, v...)
		}
	}
	if int64(len(data)) != f.Size {
		return nil, fmt.Errorf("store: file %s has %d of its %d bytes", f.ID, len(data), f.Size)
	}
	return data, nil
}

// FileOf returns file id's record if it belongs to contact contactID or to
// a contact merged into it (one person, see personIDs), else ErrNotFound:
// a visitor reaches only the files of their own conversation.
func (db *DB) FileOf(contactID, id string) (File, error) {
	var f File
	err := db.view(func(tx *bolt.Tx) (err error) {
		if f, err = getFile(tx, id); err != nil {
			return err
		}
		if f.ContactID == contactID {
			return nil
		}
		ids, _, err := personIDs(tx, contactID)
		if err != nil {
			return err
		}
		if !ids[f.ContactID] {
			return fmt.Errorf("file %q: %w", id, ErrNotFound)
		}
		return nil
	})
	return f, err
}

// PruneFiles removes the bytes of the files stored before cutoff, keeping
// their records (the history still says a photo was sent, and when). It
// returns how many files it emptied and their bytes.
func (db *DB) PruneFiles(ctx context.Context, cutoff time.Time) (files int, size int64, err error) {
	now := db.now()
	err = db.write(ctx, func(tx *bolt.Tx) error {
		files, size = 0, 0
		meta := tx.Bucket(bFiles)
		if meta == nil {
			return nil
		}
		var old []File
		if err := meta.ForEach(func(_, v []byte) error {
			var f File
			if err := json.Unmarshal(v, &f); err != nil {
				return err
			}
			if f.Erased.IsZero() && f.At.Before(cutoff) {
				old = append(old, f)
			}
			return nil
		}); err != nil {
			return err
		}
		for _, f := range old {
			if err := deleteChunks(tx, f.ID); err != nil {
				return err
			}
			f.Erased = now
			if err := putJSON(meta, []byte(f.ID), f); err != nil {
				return err
			}
			files, size = files+1, size+f.Size
		}
		return nil
	})
	return files, size, err
}

func deleteChunks(tx *bolt.Tx, id string) error {
	b := tx.Bucket(bFileData)
	if b == nil {
		return nil
	}
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek([]byte(id)); k != nil && len(k) == len(id)+4 && bytes.HasPrefix(k, []byte(id)); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// filesOfPerson returns the files of the contacts in ids, oldest first
// (ids are time-ordered), with their bytes when withData.
func filesOfPerson(tx *bolt.Tx, ids map[string]bool, withData bool) ([]FileExport, error) {
	meta := tx.Bucket(bFiles)
	if meta == nil {
		return nil, nil
	}
	var out []FileExport
	err := meta.ForEach(func(_, v []byte) error {
		var f File
		if err := json.Unmarshal(v, &f); err != nil {
			return err
		}
		if !ids[f.ContactID] {
			return nil
		}
		fe := FileExport{File: f}
		if withData && f.Erased.IsZero() {
			data, err := readChunks(tx, f)
			if err != nil {
				return err
			}
			fe.Data = data
		}
		out = append(out, fe)
		return nil
	})
	return out, err
}

// dropFiles deletes the files of the contacts in ids, records and bytes.
func dropFiles(tx *bolt.Tx, ids map[string]bool) (int, error) {
	files, err := filesOfPerson(tx, ids, false)
	if err != nil {
		return 0, err
	}
	for _, f := range files {
		if err := deleteChunks(tx, f.ID); err != nil {
			return 0, err
		}
		if err := tx.Bucket(bFiles).Delete([]byte(f.ID)); err != nil {
			return 0, err
		}
	}
	return len(files), nil
}
