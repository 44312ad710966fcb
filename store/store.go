package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Errors callers test with errors.Is.
var (
	// ErrNotFound: the contact, ticket, agent, inbox or outbox entry does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrDuplicate: a unique value (agent name, identity, channel event key) is already recorded.
	ErrDuplicate = errors.New("store: duplicate")
	// ErrTicketOpen: the contact already has a ticket that is not resolved.
	ErrTicketOpen = errors.New("store: contact already has an open ticket")
	// ErrConflict: a concurrent change won (for example a ticket claimed by another agent).
	// UpdateTicket functions return it; the store returns it when an identity is linked
	// to two contacts.
	ErrConflict = errors.New("store: conflict")
	// ErrClosed: the DB was closed.
	ErrClosed = errors.New("store: closed")
	// ErrReadOnly: a write on a DB opened with Options.ReadOnly.
	ErrReadOnly = errors.New("store: opened read-only")
	// ErrLocked: another process (a running server) holds the file lock.
	ErrLocked = errors.New("store: database file is locked by another process")
	// ErrSchema: the file's schema version cannot be used by this binary.
	ErrSchema = errors.New("store: unsupported schema version")
)

// Options configure Open. The zero value is a durable read-write store.
type Options struct {
	// Timeout bounds the wait for bbolt's file lock (default 1s). Without it a
	// second open of a locked file, even in the same process, waits forever.
	Timeout time.Duration
	// NoSync skips fsync: for benchmarks and throwaway test data only.
	NoSync bool
	// ReadOnly opens with a shared lock; every write returns ErrReadOnly.
	// The file must exist and have the current schema.
	ReadOnly bool
	// DedupeRetention is how long inbound event ids are remembered
	// (default 7 days; Telegram and VK redeliver within hours).
	DedupeRetention time.Duration
	// Clock returns the current time (default time.Now); tests inject one.
	Clock func() time.Time
}

const (
	defaultTimeout   = time.Second
	defaultRetention = 7 * 24 * time.Hour
	// initialMmapSize reserves address space (not memory) so the map rarely
	// has to grow: growing waits for every open read transaction, so a long
	// hot backup would stall writers at that moment.
	initialMmapSize = 1 << 30
	// maxBatch bounds the requests folded into one transaction.
	maxBatch = 512
	// maxLinger caps the writer's wait for more requests (see linger).
	maxLinger = 2 * time.Millisecond
	// maxValue bounds opaque blobs (session state, inbox and outbox data).
	maxValue = 4 << 20
)

// DB is an open store. Its methods are safe for concurrent use.
type DB struct {
	bolt     *bolt.DB
	path     string
	readOnly bool
	clock    func() time.Time
	retain   time.Duration

	// writeMu is held by the writer around each Update; Check holds it too,
	// because bbolt's tx.Check reads the shared freelist and reports false
	// "reachable freed" pages (and races) while a write commits.
	writeMu sync.Mutex
	mu      sync.RWMutex // guards closed against submitters racing Close
	closed  bool
	queue   chan *request
	quit    chan struct{} // closed by Close: writer drains and exits
	stopped chan struct{} // closed when the writer and janitor have exited

	closeOnce sync.Once
	closeErr  error

	contacts    contactCache
	outboxDepth atomic.Int64
	lastCommit  time.Duration // writer goroutine only
	active      int           // writer goroutine only: estimate of active writers
	batches     atomic.Uint64
	writes      atomic.Uint64
}

// Stats are counters of the group-commit writer, for metrics.
type Stats struct {
	Batches uint64 // committed transactions (each one fsync)
	Writes  uint64 // requests they carried, failed ones included
	// PageWrites counts bbolt's page writes (dirty pages, contiguous runs
	// of an overflow value count once): the disk cost of the commits.
	PageWrites uint64
}

// Stats returns the writer's counters since Open.
func (db *DB) Stats() Stats {
	bs := db.bolt.Stats()
	return Stats{Batches: db.batches.Load(), Writes: db.writes.Load(),
		PageWrites: uint64(bs.TxStats.GetWrite())}
}

// Open opens (creating if needed, with its directories) the store at path
// and runs pending schema migrations. A file written by a newer binary is
// refused with ErrSchema; a file locked by a running server fails after
// Options.Timeout with ErrLocked.
func Open(path string, opts Options) (*DB, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = defaultTimeout
	}
	if opts.DedupeRetention <= 0 {
		opts.DedupeRetention = defaultRetention
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.ReadOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("store: open %s: %w", path, err)
		}
	} else if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("store: create directory for %s: %w", path, err)
	}
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:         opts.Timeout,
		NoSync:          opts.NoSync,
		ReadOnly:        opts.ReadOnly,
		InitialMmapSize: mmapSize(),
		FreelistType:    bolt.FreelistMapType,
		// Not writing the freelist makes each commit smaller; it is rebuilt
		// by a scan on open (as etcd does).
		NoFreelistSync: true,
	})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("store: open %s: no lock within %v: %w", path, opts.Timeout, ErrLocked)
		}
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db := &DB{
		bolt:     bdb,
		path:     path,
		readOnly: opts.ReadOnly,
		clock:    opts.Clock,
		retain:   opts.DedupeRetention,
		stopped:  make(chan struct{}),
	}
	if err := db.prepareSchema(); err != nil {
		bdb.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := db.bolt.View(func(tx *bolt.Tx) error {
		db.outboxDepth.Store(int64(tx.Bucket(bOutbox).Stats().KeyN))
		return nil
	}); err != nil {
		bdb.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if db.readOnly {
		close(db.stopped)
		return db, nil
	}
	db.queue = make(chan *request, maxBatch)
	db.quit = make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); db.writeLoop() }()
	go func() { defer wg.Done(); db.janitor() }()
	go func() { wg.Wait(); close(db.stopped) }()
	return db, nil
}

// Path is the file the DB was opened from.
func (db *DB) Path() string { return db.path }

// Close stops accepting writes, commits every write already queued, stops
// the writer and closes the file. It is safe to call more than once.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		if !db.readOnly {
			db.mu.Lock()
			db.closed = true
			db.mu.Unlock()
			close(db.quit)
		}
		<-db.stopped
		if err := db.bolt.Close(); err != nil {
			db.closeErr = fmt.Errorf("store: close %s: %w", db.path, err)
		}
	})
	return db.closeErr
}

// now is the injected clock in UTC without a monotonic reading, so stored
// and returned times compare equal.
func (db *DB) now() time.Time { return db.clock().UTC().Round(0) }

// view runs a short read transaction.
func (db *DB) view(fn func(tx *bolt.Tx) error) error {
	if err := db.bolt.View(fn); err != nil {
		if errors.Is(err, berrors.ErrDatabaseNotOpen) {
			return ErrClosed
		}
		return err
	}
	return nil
}

// janitor prunes expired dedupe keys at start and then periodically.
func (db *DB) janitor() {
	every := db.retain / 24
	if every > time.Hour {
		every = time.Hour
	}
	if every < time.Second {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		// A failure here (closed DB, disk full) is retried on the next tick;
		// expired keys only cost space.
		_, _ = db.PruneDedupe(context.Background())
		select {
		case <-db.quit:
			return
		case <-t.C:
		}
	}
}

// mmapSize is initialMmapSize where address space is plentiful (64-bit).
func mmapSize() int {
	if strconv.IntSize < 64 {
		return 64 << 20
	}
	return initialMmapSize
}
