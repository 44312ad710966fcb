package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley-chat/parley/store"
)

// ContactFacts collects what Parley knows about a contact by itself (the
// outbound API's profile) in one read-only snapshot, by the bbolt store's
// rules (store/facts.go): message counts and times, conversations (runs
// with no gap of store.ConversationGap), tickets, CSAT, consent.
func (db *DB) ContactFacts(id string) (store.ContactFacts, error) {
	ctx := context.Background()
	var f store.ContactFacts
	err := pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		f = store.ContactFacts{}
		c, err := getContact(ctx, tx, id, false)
		if err != nil {
			return err
		}
		f.FirstSeen = c.CreatedAt
		// Runs of messages: a message starts a conversation when the one
		// after it (newer) is more than the gap later, or it is the newest.
		var last, lastIn, oldest *time.Time
		err = tx.QueryRow(ctx, `SELECT
				count(*) FILTER (WHERE dir = 'in'), count(*) FILTER (WHERE dir <> 'in'),
				max(at), max(at) FILTER (WHERE dir = 'in'), min(at),
				count(*) FILTER (WHERE newer IS NULL OR newer - at > $2)
			FROM (SELECT dir, at, lead(at) OVER (ORDER BY seq) AS newer FROM messages WHERE contact_id = $1) m`,
			id, store.ConversationGap).Scan(&f.MessagesIn, &f.MessagesOut, &last, &lastIn, &oldest, &f.Conversations)
		if err != nil {
			return err
		}
		f.LastMessageAt, f.LastInboundAt = goTime(last), goTime(lastIn)
		if oldest != nil && oldest.Before(f.FirstSeen) {
			f.FirstSeen = oldest.UTC()
		}
		var sum int
		if err := tx.QueryRow(ctx, `SELECT count(*), coalesce(bool_or(status <> $2), false),
				count(*) FILTER (WHERE (doc ->> 'csat')::int > 0), coalesce(sum((doc ->> 'csat')::int) FILTER (WHERE (doc ->> 'csat')::int > 0), 0)
			FROM tickets WHERE contact_id = $1`, id, store.TicketResolved).Scan(&f.Tickets, &f.OpenTicket, &f.CSATCount, &sum); err != nil {
			return err
		}
		if f.CSATCount > 0 {
			f.CSATAvg = float64(sum) / float64(f.CSATCount)
		}
		f.Consent, err = consents(ctx, tx, id)
		return err
	})
	if err != nil {
		return store.ContactFacts{}, mapErr(err)
	}
	if f.Consent == nil {
		f.Consent = []store.Consent{}
	}
	return f, nil
}
