package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/puddle/v2"

	"github.com/parley-chat/parley/store"
)

// Options configure Open. The zero value suits a server.
type Options struct {
	// MaxConns bounds the connection pool (default: pgxpool's, 4 per CPU
	// and at least 4). Each replica holds its own pool: the sum over
	// replicas must stay under the server's max_connections.
	MaxConns int32
	// DedupeRetention is how long inbound event ids are remembered
	// (default 7 days, as the bbolt store).
	DedupeRetention time.Duration
	// Clock returns the current time (default time.Now); tests inject one.
	Clock func() time.Time
	// NoMigrate skips applying pending migrations at open; the schema must
	// then be current (parley migrate applies it).
	NoMigrate bool
	// Tracer, when set, sees every query and batch (metrics, benchmarks).
	Tracer pgx.QueryTracer
}

// DB is an open PostgreSQL store. Its methods are safe for concurrent use,
// also from several processes on one database.
type DB struct {
	pool   *pgxpool.Pool
	clock  func() time.Time
	retain time.Duration
	quit   chan struct{} // closed by Close: the janitor stops
	done   chan struct{} // closed when the janitor has stopped
	once   sync.Once
}

// Open connects to the database at url (postgres://...), applies pending
// migrations and returns the store. The error says what to check when the
// server does not answer.
func Open(ctx context.Context, url string, opts Options) (*DB, error) {
	if opts.DedupeRetention <= 0 {
		opts.DedupeRetention = store.DefaultDedupeRetention
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgconn's parse errors may quote the URL, password included.
		return nil, errors.New("postgres: the database URL does not parse: want postgres://user:password@host:port/dbname")
	}
	if opts.Tracer != nil {
		cfg.ConnConfig.Tracer = opts.Tracer
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: no answer from %s:%d (is the server running and the URL right?): %w",
			cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	db := &DB{pool: pool, clock: opts.Clock, retain: opts.DedupeRetention, quit: make(chan struct{}), done: make(chan struct{})}
	if opts.NoMigrate {
		err = db.checkSchema(ctx)
	} else {
		_, err = Migrate(ctx, pool)
	}
	if err != nil {
		pool.Close()
		return nil, err
	}
	go db.janitor()
	return db, nil
}

// janitor prunes expired event keys at start and then periodically, as the
// bbolt store's does. Every replica runs one; a prune finding nothing to
// delete costs one indexed query.
func (db *DB) janitor() {
	defer close(db.done)
	every := min(max(db.retain/24, time.Second), time.Hour)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		// A failure (database away) is retried on the next tick; expired
		// keys only cost space.
		_, _ = db.PruneDedupe(context.Background())
		select {
		case <-db.quit:
			return
		case <-t.C:
		}
	}
}

func (db *DB) checkSchema(ctx context.Context) error {
	var v int
	err := db.pool.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&v)
	if err != nil || v != SchemaVersion() {
		return fmt.Errorf("postgres: database schema %d, this binary needs %d (run parley migrate): %w",
			v, SchemaVersion(), store.ErrSchema)
	}
	return nil
}

// Pool is the connection pool, for tools (parley migrate) and tests.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Close stops the janitor and closes the pool; calls in flight finish
// first. It is safe to call more than once.
func (db *DB) Close() error {
	db.once.Do(func() {
		close(db.quit)
		<-db.done
		db.pool.Close()
	})
	return nil
}

// now is the clock in UTC at the microsecond PostgreSQL keeps, so what is
// stored and what is returned compare equal.
func (db *DB) now() time.Time { return pgTime(db.clock()) }

// pgTime is t as PostgreSQL keeps it: UTC, microseconds.
func pgTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Round(0).Truncate(time.Microsecond)
}

// nullTime stores a zero time as NULL.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = pgTime(t)
	return &t
}

// goTime reads a nullable timestamptz back as a UTC time (zero for NULL).
func goTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// retryable tells errors after which the whole transaction is run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// uniqueViolation reports a unique constraint's violation (constraint name).
func uniqueViolation(err error) (string, bool) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return pe.ConstraintName, true
	}
	return "", false
}

// tx runs fn in a READ COMMITTED transaction and commits it, again from the
// start after a deadlock or serialization failure. As with the bbolt store,
// fn may run more than once and must have no effects outside tx.
func (db *DB) tx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		err = pgx.BeginFunc(ctx, db.pool, fn)
		if !retryable(err) {
			break
		}
	}
	return mapErr(err)
}

// mapErr turns a closed pool into store.ErrClosed.
func mapErr(err error) error {
	if errors.Is(err, puddle.ErrClosedPool) {
		return fmt.Errorf("%w (%v)", store.ErrClosed, err)
	}
	return err
}

// noRows reports pgx.ErrNoRows.
func noRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// foreignKeyViolation reports a foreign key's violation (constraint name).
func foreignKeyViolation(err error) (string, bool) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23503" {
		return pe.ConstraintName, true
	}
	return "", false
}
