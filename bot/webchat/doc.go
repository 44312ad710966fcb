// Package webchat owns the web chat channel: the widget a site embeds with one
// script tag (JS, CSS and a demo shop page, embedded in the binary), and the
// WebSocket server that carries the conversation between the widget and the
// runtime. It imports only bot/channel.
//
// # Embedding
//
//	<script src="https://chat.example.com/widget.js" async></script>
//
// The widget finds the server from its own src and opens
// wss://chat.example.com/ws. The site's origin must be in
// Config.AllowedOrigins unless the page comes from the chat's own host.
// data-open="true" on the tag opens the panel at load (the demo page does).
//
// # Visitors
//
// The server, never the client, picks a visitor's id: 128 random bits, sent
// to the widget with an HMAC token (Config.Secret) that the widget keeps in
// localStorage and presents on every reconnect. A token that does not verify
// closes the connection with status 1008 (policy violation); the widget then
// forgets it and starts as a new visitor. A visitor's address is
// channel.Address{Channel: channel.Web, ID: <visitor id>}.
//
// # Signed customer identities
//
// A site that knows its customer adds data-customer-id, data-customer-ts
// (Unix seconds) and data-customer-sig = hex(HMAC-SHA256(identity secret,
// id + ":" + ts)) to the tag, computed on its server with
// Config.IdentitySecret. The widget sends them in the hello frame; a valid
// one makes the visitor "site.<id>" on every browser and device (one
// contact, identity web:site.<id>), a forged or stale one (older than
// Config.IdentityMaxAge) closes the connection with 1008 "identity: ...".
//
// # Protocol
//
// One JSON object per WebSocket text frame from the client. From the server
// to a client whose hello says "batch":true (the widget's does), a text
// frame holds one JSON object or several separated by "\n" (JSON text never
// contains a raw newline): the ack of a message comes in one frame with the
// replies its turn produced, one write instead of one per object, and the
// visitor's other tabs get the echo of the message before those replies.
// Other clients get one object per frame, in the same order.
//
// Client to server:
//
//	{"type":"hello","token":"<token or omitted>","identity":{"id","ts","sig"} or omitted,"lang":"ru-RU","batch":true,"page":"https://shop/x","browser":"<user agent>"}   first frame, within 10 s
//	{"type":"message","id":"<client msg id>","text":"..."}
//	{"type":"button","id":"<client msg id>","value":"<button value>","text":"<label>"}
//	{"type":"typing"}                                        the visitor is typing (at most every 2 s)
//	{"type":"seen"}                                          an agent's reply is on screen in a visible tab (read mark)
//	{"type":"ping"}                                          keep-alive, every 25 s
//
// "identity" is a customer identity signed by the site (see identity.go and
// "Signed customer identities" below). A client message id is 1-64
// characters of letters, digits, - and _; the widget makes 24 hex digits.
//
// Server to client:
//
//	{"type":"hello","token":"...","visitor":"..."}
//	{"type":"history","items":[{"id","dir":"in"|"out","text","buttons","image","sender","at"}],"opening":true or omitted}   oldest first
//	{"type":"message","id":"...","text":"...","buttons":[{"text","value"}],"image":"...","sender":"...","at":"..."}
//	{"type":"typing","sender":"<agent name> or omitted"}   the bot, or the named agent, is typing
//	{"type":"queue","state":"bot"|"queued"|"agent","position":2,"wait":3,"agent":"...","read_until":"<RFC 3339>"}
//	{"type":"ack","id":"<client msg id>"}
//	{"type":"echo","id":"<client msg id>","text":"...","at":"..."}   the visitor's message, to their other tabs
//	{"type":"error","id":"<client msg id, if any>","code":"...","error":"..."}
//	{"type":"pong"}
//
// "page" (the page's address without query or fragment) and "browser" go on
// the agent's card (Inbound.Profile). "read_until": the agent holding the
// ticket has read the visitor's messages up to then; the widget marks them
// read. "seen" goes to the agent's console (SeenReporter). Only the web chat
// has read marks: Telegram and VK give bots no read receipts.
//
// "sender" is empty for the bot and the agent's display name for a human.
// "queue" (with SetWaiting) says where the conversation stands while a
// person is involved: "queued" with the queue position (1 = next) and the
// expected wait in minutes (omitted when unknown), "agent" with the name of
// the agent who took it, "bot" when the ticket ended. It comes after the
// history on connect (unless the state is "bot") and on every change. A
// visitor's "typing" is passed to the Waiting (the agent's console shows
// it); the server drops typing frames closer than 2 s.
// "lang" is the browser's language (navigator.language): the opening is
// in it, and a press of one of the opening's buttons reports it as
// channel.Inbound.Lang (typed text is left to the engine's detection).
//
// # The opening
//
// A visitor with no history (a new one, or one who never wrote) gets the
// opening of a conversation in the history frame, marked "opening":true:
// the bot's greeting and its buttons (ids "opening-1", ...), in the
// browser's language when the bot speaks it, from the Handler when it is
// an Opener (the runtime is). Nothing is stored and no contact is made
// until the visitor writes or presses a button; that first message
// carries channel.Inbound.Greeted, so the bot answers it without greeting
// again. A visitor with history gets the history, and no opening.
// Error codes: too_big (the text is over Config.MaxMessageBytes; the message
// is dropped), rate_limited (over Config.RatePerSecond for the visitor; the
// widget waits and re-sends), retry (the runtime could not record the
// message; the widget re-sends), bad_frame (malformed; dropped). Twenty
// refused frames in a row, or a frame larger than about six times the text
// limit, close the connection.
//
// # Flood limits
//
// Per network address (an IPv4 address, an IPv6 /64; behind a reverse
// proxy listed in Config.TrustedProxies, the X-Forwarded-For address): at
// most Config.NewVisitorRate new visitors a second (burst
// Config.NewVisitorBurst) and Config.MaxConnsPerAddress open connections;
// in all, Config.MaxConns. A connection over a limit is closed with 1013
// (try again later) and a reason starting with "busy:"; the widget says
// the chat is busy and reconnects in about a minute. Metrics:
// parley_webchat_connections, parley_webchat_new_visitors_total,
// parley_webchat_refused_total{reason}.
//
// # Delivery guarantees
//
// Each message or button frame becomes a channel.Inbound with EventID
// "web:<visitor>:<client msg id>". The server sends "ack" only after
// Handler.HandleInbound returned nil, i.e. after the runtime recorded the
// event durably. The widget keeps every unacknowledged message in
// localStorage, shows it as pending, and re-sends it with the same id after a
// reconnect or a reload; the runtime's dedupe on EventID makes that
// exactly-once. Replies (Adapter.Send) go to every open tab of the visitor; a
// visitor with none misses nothing, because the widget loads the history
// (History) when it connects: the history replaces what the widget showed
// (so a reconnect doubles nothing, whatever ids the history uses), except
// messages still waiting for their ack. That is why the adapter is a
// channel.HistorySyncer: the runtime pushes its replies right after the turn
// commits, with the history message's seq as the id, instead of keeping
// them in the outbox; a push that fails (a tab closing, a crash right after
// the commit) is made good by the history on the next connect.
package webchat
