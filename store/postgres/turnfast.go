package postgres

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/parley-chat/parley/store"
)

// The usual turn (no contact or ticket change: nothing read-modify-write)
// is sent as one pipelined batch, BEGIN to COMMIT: one round trip instead
// of four. Its checks fail inside the server, by a division by zero where
// a row is missing, so that the transaction aborts and COMMIT rolls back;
// which check failed is told by the statement's place in the batch.

// fastPath reports whether the turn can go in one batch.
func (p *preparedTurn) fastPath() bool {
	return p.t.Contact == nil && p.t.UpdateTicket == nil && p.t.OpenTicket == nil
}

// errDivision is PostgreSQL's division_by_zero: a check of the batch failed.
func errDivision(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "22012"
}

func (db *DB) commitPipelined(ctx context.Context, p *preparedTurn) (store.TurnResult, error) {
	for attempt := 0; ; attempt++ {
		res, err := db.pipelineOnce(ctx, p)
		if retryable(err) && attempt < 4 {
			continue
		}
		return res, mapErr(err)
	}
}

func (db *DB) pipelineOnce(ctx context.Context, p *preparedTurn) (res store.TurnResult, err error) {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return res, err
	}
	defer conn.Release()
	cid := p.t.ContactID
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(`WITH c AS (SELECT msg_seq FROM contacts WHERE id = $1 FOR UPDATE)
		SELECT (SELECT msg_seq FROM c), 1 / (SELECT count(*) FROM c)`, cid)
	if p.t.EventKey != "" {
		h := sha256.Sum256([]byte(p.t.EventKey))
		b.Queue(`WITH k AS (INSERT INTO event_keys (contact_id, key_hash, at) VALUES ($1, $2, $3)
			ON CONFLICT (contact_id, key_hash) DO UPDATE SET at = EXCLUDED.at WHERE event_keys.at < $4 RETURNING 1)
			SELECT 1 / (SELECT count(*) FROM k)`, cid, h[:], p.now, p.dedupeFrom)
	}
	if p.t.InboxSeq > 0 {
		b.Queue(`WITH d AS (DELETE FROM inbox WHERE seq = $1 AND contact_id = $2 RETURNING 1)
			SELECT 1 / (SELECT count(*) FROM d)`, p.t.InboxSeq, cid)
	}
	if p.t.Session != nil {
		b.Queue(`INSERT INTO sessions (contact_id, state) VALUES ($1, $2)
			ON CONFLICT (contact_id) DO UPDATE SET state = EXCLUDED.state`, cid, p.t.Session)
	}
	for i, m := range p.t.Messages {
		var via any
		if len(m.Via) > 0 {
			via = m.Via
		}
		b.Queue(`INSERT INTO messages (contact_id, seq, dir, channel, address, text, payload, buttons, attachments,
			sender, sender_name, at, via) VALUES ($1, (SELECT msg_seq FROM contacts WHERE id = $1) + $2,
			$3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			cid, i+1, m.Dir, m.Channel, m.Address, m.Text, m.Payload, nullJSON(m.Buttons), nullJSON(m.Attachments),
			m.Sender, m.SenderName, pgTime(m.At), via)
	}
	if n := len(p.t.Messages); n > 0 {
		b.Queue("UPDATE contacts SET msg_seq = msg_seq + $2 WHERE id = $1", cid, n)
	}
	if len(p.t.Events) > 0 {
		queueEvents(b, p.t.Events, true)
	}
	for _, o := range p.t.Outbox {
		b.Queue(`INSERT INTO outbox (contact_id, address, data, attempts, not_before, created_at)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			o.ContactID, o.Address, nonNil(o.Data), o.Attempts, nullTime(o.NotBefore), pgTime(o.CreatedAt))
	}
	b.Queue("COMMIT")

	br := conn.SendBatch(ctx, b)
	committed := false
	defer func() {
		cerr := br.Close()
		if err == nil && cerr != nil {
			err = cerr
		}
		if !committed || err != nil {
			// The batch stopped at an error: end the aborted transaction
			// before the connection goes back to the pool.
			_, _ = conn.Exec(context.Background(), "ROLLBACK")
			res = store.TurnResult{}
		}
	}()
	step := func(e error, what error) error {
		if errDivision(e) && what != nil {
			return what
		}
		return e
	}
	if _, err := br.Exec(); err != nil {
		return res, err
	}
	var msgSeq uint64
	var one int
	if err := br.QueryRow().Scan(&msgSeq, &one); err != nil {
		return res, step(err, fmt.Errorf("store: turn for contact %q: %w", cid, store.ErrNotFound))
	}
	if p.t.EventKey != "" {
		if err := br.QueryRow().Scan(&one); err != nil {
			return res, step(err, fmt.Errorf("store: event %q: %w", p.t.EventKey, store.ErrDuplicate))
		}
	}
	if p.t.InboxSeq > 0 {
		if err := br.QueryRow().Scan(&one); err != nil {
			return res, step(err, fmt.Errorf("store: turn for %q: inbox entry %d: %w (or another contact's)", cid, p.t.InboxSeq, store.ErrNotFound))
		}
	}
	if p.t.Session != nil {
		if _, err := br.Exec(); err != nil {
			return res, err
		}
	}
	if n := len(p.t.Messages); n > 0 {
		res.MessageSeqs = make([]uint64, n)
		for i := range p.t.Messages {
			if _, err := br.Exec(); err != nil {
				return res, err
			}
			res.MessageSeqs[i] = msgSeq + uint64(i) + 1
		}
		if _, err := br.Exec(); err != nil {
			return res, err
		}
	}
	for range p.t.Events {
		if _, err := br.Exec(); err != nil {
			return res, err
		}
	}
	if len(p.t.Outbox) > 0 {
		res.OutboxIDs = make([]uint64, len(p.t.Outbox))
		for i := range p.t.Outbox {
			if err := br.QueryRow().Scan(&res.OutboxIDs[i]); err != nil {
				return res, err
			}
		}
	}
	if _, err := br.Exec(); err != nil {
		return res, err
	}
	committed = true
	return res, nil
}
