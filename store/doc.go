// Package store owns Parley's persistence: contacts and their channel
// identities, sessions, per-contact message history, the analytics event log,
// the durable inbox (with dedupe of channel event ids) and outbox, handoff
// tickets and agent accounts, all in one embedded bbolt file.
//
// Store is a leaf: it imports bbolt and the standard library only. Values of
// higher layers (flow session state, inbound events, outbound messages) are
// kept as opaque []byte.
//
// # Writes
//
// Every write goes through one group-commit writer goroutine: requests from
// concurrent conversations are drained from a queue into a single bbolt
// Update, so one fsync (≈ 0.3 ms here) is shared by all of them. Each request
// gets its own result: when one request's function fails, the transaction is
// rolled back and retried without it, so it never poisons the others (its
// caller gets the error once the others committed, so reading again then
// sees the writes that made it fail). A function may therefore run more than once and must have no side effects
// outside the transaction (this includes TicketChange.Fn and the fn of
// UpdateTicket).
//
// One Commit of a Turn is one transaction: session, history, events, outbox
// entries, contact and ticket changes and the deletion of the inbox entry
// become durable together or not at all.
//
// # One customer across channels
//
// MergeContacts, Merge and LinkByCode join two contacts into one and keep a
// MergeRecord that UndoMerge uses to split them back; IssueLinkCode,
// LookupLinkCode and LinkFailed carry the link codes and their attempt
// limit. ExportContact collects everything about a contact; ForgetContact
// erases it (tickets and events keep an anonymous record) and CompactFile
// removes the erased bytes from the file's free pages. The rules are in
// docs/contacts.md.
//
// # Backup
//
// Backup, BackupToFile and ServeBackup (for an admin HTTP endpoint) copy the
// live file consistently while it serves (bbolt's Tx.WriteTo). BackupFile
// copies a file no process holds; a server's exclusive file lock makes it
// fail with ErrLocked, which is how `parley backup` tells the two apart.
//
// # Layout (schema version 5)
//
//	meta            "schema" -> BE(version)
//	contacts        contact id -> JSON Contact
//	identities      "telegram:42" -> contact id
//	sessions        contact id -> opaque session state
//	                contact id + 0x00 -> BE(newest message's log seq) + BE(its seq): history head
//	                contact id + 0x00 + 'e' -> the contact's last 64 event keys: 8 bytes of
//	                SHA-256(key) + BE32(unix seconds) each, oldest first (dedupe.go)
//	messages        BE(log seq) -> BE(contact's previous log seq) + BE(seq) + JSON Message
//	                (one append-only log for every contact; seq dense from 1 per contact)
//	events          BE(unix nanos) + BE(seq) -> JSON Event, or a JSON array of the events
//	                of one turn, which share its time (time ordered)
//	inbox           BE(seq) -> JSON InboxEntry
//	dedupe          event key -> BE(unix nanos recorded)  (schema 3's; read and pruned only)
//	dedupe_time     BE(unix nanos) + event key -> empty (pruning index of dedupe)
//	outbox          BE(id) -> JSON OutboxEntry
//	tickets         BE(id) -> JSON Ticket
//	ticket_open     contact id -> BE(id) of its one non-resolved ticket
//	ticket_contact  contact id + 0x00 + BE(id) -> empty
//	agents          agent id -> JSON agent record
//	agent_names     lower-case name -> agent id
//	merges          BE(id) -> JSON MergeRecord (what a merge changed, for undo)
//	link_codes      SHA-256(code) -> JSON LinkCode (live link codes and tokens)
//	link_attempts   contact id -> JSON failed link attempts in the current window
//	console_sessions SHA-256(cookie) -> JSON ConsoleSession (signed-in agent consoles)
//
// Composite keys with big-endian numbers sort bytewise in numeric order;
// DEPENDENCIES.md measured them 2x faster to write than a bucket per contact.
//
// # Reads
//
// Read transactions are kept short, because a long one blocks a writer that
// needs to grow the memory map: the callbacks of Sessions and Events run
// outside any transaction, on chunks copied out of it. Values are always
// copied out of the transaction before it ends.
//
// # Caveats
//
//   - The file never shrinks when records are deleted; compact it offline
//     (bbolt compact) if that matters.
//   - History and events are kept forever; there is no retention yet.
//   - One process at a time: bbolt's exclusive file lock. Tools that need
//     the file while the server runs must go through the server.
//   - Throughput is bounded by the single writer: every commit costs two
//     fdatasyncs plus the pages it dirties (see BenchmarkCommitTurn); group
//     commit shares that among concurrent turns. History is one log so that
//     a commit's messages fill shared pages; per contact a commit still
//     dirties the page of its session (and history head).
//   - Reading a contact's history walks its chain, one lookup per message:
//     History with afterSeq reads every message after it.
//   - The crash test kills the process (SIGKILL); it cannot simulate power
//     loss, which relies on fdatasync and bbolt's meta-page protocol.
package store
