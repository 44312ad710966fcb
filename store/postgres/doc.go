// Package postgres owns Parley's PostgreSQL store: the same contract as the
// bbolt store (package store: its types, errors and rules, proven by the
// shared suite storetest.Contract), kept in a relational schema so several
// `parley serve` replicas can share one database.
//
// # Schema (migrations/*.sql, embedded; applied by Open and `parley migrate`)
//
//	contacts          one row per contact; msg_seq is its newest message's seq
//	identities        "telegram:42" -> contact (ord keeps Contact.Identities' order)
//	sessions          contact -> opaque session state (bytea)
//	messages          (contact, seq) -> one history message, columns per field
//	event_keys        (contact, SHA-256 of the channel event key) -> time: dedupe
//	inbox, outbox     queued inbound events and replies, ids from identity columns
//	events            (seq, idx) analytics; a turn's events share one seq
//	tickets, merges   JSON documents with generated, indexed columns
//	                  (one non-resolved ticket per contact: a partial unique index)
//	agents, console_sessions, positions, link_codes, link_attempts
//	identities.profile what the channel says about that identity (moves with it)
//	files             attachments: JSON record + bytea (NULL once pruned)
//	consent           (contact, channel) opt-outs; idempotency, trigger_wait
//	                  the outbound API's keys and parked triggers
//	saved_replies, cascades, api_keys (under the key's SHA-256)
//
// Tables keyed by a contact that must outlive a merge for its undo
// (consent, files) have no foreign key; ForgetContact deletes them for
// every id of the person, and Check reports ones that belong to nobody.
//
// Ids and text keys are COLLATE "C", so they sort as the bbolt store's bytes
// do. Times are timestamptz: microseconds, so the store truncates every time
// it is given to the microsecond (what it returns equals what it stored).
//
// # Transactions
//
// Every write is one READ COMMITTED transaction, run again from the start
// after a deadlock or serialization failure (so, as in the bbolt store, a
// TicketChange.Fn may run more than once). A turn locks its contact's row
// first (SELECT ... FOR UPDATE): a contact's turns are serialised, also
// across processes, while different contacts commit in parallel. A usual
// turn (no contact or ticket change) is one pipelined batch from BEGIN to
// COMMIT whose checks fail inside the server (turnfast.go): one round trip;
// Enqueue is one statement. Other turns take a few more round trips.
// Merges lock both contacts in id order.
//
// # Differences from the bbolt store
//
//   - Sequence-assigned ids (outbox, tickets, events, merges, inbox) are
//     increasing but may have gaps: a rolled-back transaction does not give
//     its numbers back. Per-contact message seqs stay dense.
//   - Event keys are remembered for the whole retention, not only a
//     contact's last 64 (more, never fewer, redeliveries are recognised).
//   - A pipelined turn already sent when its process dies still commits
//     (the server runs the batch to its COMMIT before it notices the closed
//     connection): unacknowledged, as the one turn a killed bbolt process
//     may have committed, but it can land milliseconds after the death.
//     The contact's row lock and event key keep a redelivery of it, on any
//     replica, from being processed twice (crash_test.go waits for it).
//   - OutboxDepth counts in the database (it covers every replica); -1 when
//     the database does not answer.
//   - Erased rows stay in table files until VACUUM and in the WAL until it
//     is recycled: the operator's autovacuum and WAL/backup retention bound
//     how long erased text stays on disk (docs/deploy.md).
//
// # For replicas (not built yet)
//
// The schema leaves room for what several replicas need: outbox rows carry
// claimed_by/claimed_until, so a dispatcher can claim due entries with
// FOR UPDATE SKIP LOCKED under a lease that lapses when a replica dies; a
// per-contact lease or pg_advisory_xact_lock(hashtext(contact)) around a
// turn orders turns across replicas (the row lock already keeps the history
// consistent); long-poll leadership is a session-level pg_advisory_lock held
// on a dedicated connection (released by the server when the replica dies);
// LISTEN/NOTIFY on a channel per event kind carries agent replies and
// console updates between replicas.
package postgres
