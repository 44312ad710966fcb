package webchat

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/parley-chat/parley/bot/channel"
)

// conn is one open WebSocket (one browser tab). It keeps no buffers of its
// own: an idle connection costs the socket, coder/websocket's state with the
// two bufio buffers of the hijacked HTTP connection, one goroutine blocked in
// Read and two timers.
//
// The read and write time limits are timers that close the connection, not
// contexts with deadlines: coder/websocket arms a callback on every
// cancellable context it is given, which a busy connection would pay for on
// every frame.
type conn struct {
	ws      *websocket.Conn
	visitor string
	v       *visitor // set by register; guarded by Adapter.mu
	batch   bool     // the client reads several objects per frame
	fresh   bool     // a new visitor: the hello had no token and no identity
	lang    string   // the browser's language from the hello, for the opening
	// profile is the page and browser from the hello, sent with each of
	// the visitor's messages for the agent's card (profile.go).
	profile map[string]string
	// greeted: this connection showed the opening, and the visitor has not
	// had a message recorded since; the next inbound says so
	// (channel.Inbound.Greeted). Used by the connection's own goroutine only.
	greeted bool
	// typedAt is when the visitor's typing was last passed on (wait.go);
	// the connection's own goroutine only.
	typedAt time.Time
	// seenAt is when the visitor's "seen" was last passed on (wait.go).
	seenAt time.Time

	wmu    sync.Mutex  // one write at a time, so one timer bounds it
	wtimer *time.Timer // closes the connection when a write outlasts writeTimeout
}

func newConn(ws *websocket.Conn, visitor string, batch bool) *conn {
	c := &conn{ws: ws, visitor: visitor, batch: batch}
	c.wtimer = time.AfterFunc(writeTimeout, func() { ws.CloseNow() })
	c.wtimer.Stop()
	return c
}

// heldFrames collects what a message's own turn sends to the visitor (the
// runtime pushes its replies with the context HandleInbound got) until the
// message is acknowledged. Then the tab the message came from gets the ack
// and the replies in one WebSocket frame (one write and one wake-up of the
// browser instead of one per object), and the visitor's other tabs get the
// echo of the message before the replies to it. The typing signal and
// agents' messages are written at once.
type heldFrames struct {
	c      *conn // the tab the message came from
	mu     sync.Mutex
	frames []heldFrame
	done   bool // flushed: later frames are written directly
}

// heldFrame is a broadcast frame and the connection it was not meant for.
type heldFrame struct {
	skip  *conn
	frame []byte
}

type heldKey struct{}

// hold keeps a frame broadcast to visitorID if h is still collecting for
// that visitor.
func (h *heldFrames) hold(visitorID string, skip *conn, frame []byte) bool {
	if h == nil || h.c.visitor != visitorID {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done {
		return false
	}
	h.frames = append(h.frames, heldFrame{skip, frame})
	return true
}

// flush stops holding and writes: to the sending tab first (the ack or an
// error) and the held frames; to the visitor's other tabs the echo (built
// by echo, if not nil, only when there are such tabs) and the held frames.
// A tab that reads batches gets them in one frame.
func (h *heldFrames) flush(ctx context.Context, a *Adapter, first []byte, echo func() []byte) {
	h.mu.Lock()
	h.done = true
	held := h.frames
	h.frames = nil
	h.mu.Unlock()
	a.writeBatch(ctx, h.c, first, held)
	others := a.connsOf(h.c.visitor, h.c)
	if len(others) == 0 {
		return
	}
	var e []byte
	if echo != nil {
		e = echo()
	}
	for _, t := range others {
		a.writeBatch(ctx, t, e, held)
	}
}

// writeBatch writes first (if not nil) and the held frames meant for c:
// as one newline-separated frame when c reads batches, else one by one.
func (a *Adapter) writeBatch(ctx context.Context, c *conn, first []byte, held []heldFrame) {
	var frames [][]byte
	if first != nil {
		frames = append(frames, first)
	}
	for _, f := range held {
		if f.skip != c {
			frames = append(frames, f.frame)
		}
	}
	if len(frames) == 0 {
		return
	}
	if !c.batch || len(frames) == 1 {
		for _, f := range frames {
			if !a.writeOrClose(ctx, c, f) {
				return
			}
		}
		return
	}
	n := len(frames) - 1
	for _, f := range frames {
		n += len(f)
	}
	b := make([]byte, 0, n)
	for i, f := range frames {
		if i > 0 {
			b = append(b, '\n')
		}
		b = append(b, f...)
	}
	a.writeOrClose(ctx, c, b)
}

// write sends one text frame. A client that does not take it within
// writeTimeout is disconnected (the widget reconnects and reloads the
// history); ctx only stops a write that has not begun.
func (c *conn) write(ctx context.Context, frame []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wtimer.Reset(writeTimeout)
	err := c.ws.Write(context.WithoutCancel(ctx), websocket.MessageText, frame)
	c.wtimer.Stop()
	return err
}

// readLimit is the largest frame accepted: the text limit with room for JSON
// escaping (\uXXXX is 6 bytes for 1) and the other fields. Larger frames
// close the connection; frames under it whose text is too long get a
// too_big error frame and the connection stays.
func (a *Adapter) readLimit() int64 {
	return int64(6*a.cfg.MaxMessageBytes + 2*maxValueLen + 1024)
}

func (a *Adapter) serveWS(w http.ResponseWriter, r *http.Request, h channel.Handler) {
	// Counted from before the upgrade, so handshakes in progress count
	// against the caps too.
	addr := ClientAddr(r, a.cfg.TrustedProxies)
	refusal := a.guard.open(addr)
	if refusal == "" {
		defer a.guard.closed(addr)
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		OriginPatterns:  a.cfg.AllowedOrigins,
		CompressionMode: websocket.CompressionDisabled, // deflate state costs tens of KB per connection
	})
	if err != nil {
		// Accept has written the response (403 for a foreign origin).
		a.log.Info().Err(err).Str("origin", r.Header.Get("Origin")).Msg("webchat: websocket refused")
		return
	}
	ws.SetReadLimit(a.readLimit())
	defer ws.CloseNow()
	if refusal != "" {
		// Accepted only to say why: a browser shows no HTTP status to the
		// page, but the widget reads a close reason.
		a.refuse(ws, addr, refusal)
		return
	}

	c, err := a.handshake(r.Context(), ws, addr)
	if err != nil {
		return
	}
	if err := a.register(c); err != nil {
		ws.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	defer a.unregister(c)
	op, _ := h.(Opener)
	a.sendHistory(r.Context(), c, op)
	a.sendQueueState(r.Context(), c)
	a.readLoop(r.Context(), c, h)
}

// refuseWait bounds the wait for the client's answer to a refusal's close
// frame: a flooding client that never answers holds no goroutine longer.
const refuseWait = time.Second

// refuse closes a connection over a flood limit with 1013 (try again
// later) and the limit's reason. It is logged at debug only: a flood
// would otherwise be a flood of log lines too (the metrics count them).
func (a *Adapter) refuse(ws *websocket.Conn, addr netip.Prefix, reason string) {
	a.log.Debug().Str("addr", addr.String()).Str("limit", reason).Msg("webchat: connection refused by a flood limit")
	t := time.AfterFunc(refuseWait, func() { ws.CloseNow() })
	defer t.Stop()
	ws.Close(websocket.StatusTryAgainLater, closeReasons[reason])
}

// handshake waits for the client's hello and answers with the visitor's
// token and id. A token that does not verify closes the connection with a
// policy violation: the client never picks its own id.
func (a *Adapter) handshake(ctx context.Context, ws *websocket.Conn, addr netip.Prefix) (*conn, error) {
	hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	_, b, err := ws.Read(hctx)
	if err != nil {
		return nil, err
	}
	f, err := decodeClientFrame(b, a.cfg.MaxMessageBytes)
	if err == nil && f.Type != typeHello {
		err = badFrame("", "first frame must be hello, got %q", f.Type)
	}
	if err != nil {
		ws.Close(websocket.StatusPolicyViolation, truncate(err.Error(), 120))
		return nil, err
	}
	var visitorID, token string
	fresh := f.Token == ""
	if fresh {
		visitorID, token = a.signer.issue()
	} else {
		visitorID, err = a.signer.verify(f.Token)
		if err != nil {
			a.log.Info().Msg("webchat: refused a forged or damaged visitor token")
			ws.Close(websocket.StatusPolicyViolation, err.Error())
			return nil, err
		}
		token = f.Token
	}
	if f.Identity != nil {
		if len(a.cfg.IdentitySecret) == 0 {
			a.log.Warn().Msg("webchat: a signed customer identity arrived but no identity secret is configured; the visitor stays anonymous")
		} else {
			id, err := verifyIdentity(a.cfg.IdentitySecret, *f.Identity, time.Now(), a.cfg.IdentityMaxAge)
			if err != nil {
				a.log.Info().Err(err).Msg("webchat: refused a signed customer identity")
				ws.Close(websocket.StatusPolicyViolation, truncate(err.Error(), 120))
				return nil, err
			}
			visitorID, fresh = id, false
		}
	}
	if fresh && !a.guard.newVisitor(addr) {
		a.refuse(ws, addr, refusedNewVisitors)
		return nil, errors.New(closeReasons[refusedNewVisitors])
	}
	c := newConn(ws, visitorID, f.Batch)
	c.fresh, c.lang, c.profile = fresh, langCode(f.Lang), visitorProfile(f.Page, f.Browser)
	if err := c.write(ctx, mustJSON(helloFrame{Type: typeHello, Token: token, Visitor: visitorID})); err != nil {
		return nil, err
	}
	return c, nil
}

// sendHistory sends the visitor's history, or, to a visitor without one,
// the opening of op (if not nil) in a history frame marked "opening".
func (a *Adapter) sendHistory(ctx context.Context, c *conn, op Opener) {
	items := []itemFrame{}
	if a.hist != nil {
		got, err := a.hist.History(ctx, a.address(c), a.cfg.HistoryLimit)
		if err != nil {
			a.log.Error().Err(err).Str("visitor", c.visitor).Msg("webchat: history")
			c.write(ctx, mustJSON(errorFrame{Type: "error", Code: codeRetry, Error: "history is unavailable right now"}))
			return
		}
		prefix := "web:" + c.visitor + ":"
		for _, it := range got {
			id := it.ID
			if it.Dir == DirIn {
				// The widget knows its own messages by client id.
				id = strings.TrimPrefix(id, prefix)
			}
			items = append(items, itemFrame{ID: id, Dir: it.Dir, Text: it.Text, Buttons: it.Buttons, Sender: it.Sender,
				Files: a.fileFrames(c.visitor, it.Files), At: it.At.UTC()})
		}
	}
	// Without a History every returning visitor would look new: then only
	// a visitor who is new gets the opening.
	opening := false
	if op != nil && len(items) == 0 && (a.hist != nil || c.fresh) {
		items = a.opening(ctx, op, c.lang)
		opening = len(items) > 0
		c.greeted = opening
	}
	c.write(ctx, mustJSON(historyFrame{Type: "history", Items: items, Opening: opening}))
}

// opening asks op for the opening and makes it history items with the ids
// "opening-1", "opening-2", ...: a reconnect shows the same ids again,
// which the widget replaces without doubling anything.
func (a *Adapter) opening(ctx context.Context, op Opener, lang string) []itemFrame {
	outs := op.Opening(ctx, channel.Web, lang)
	items := make([]itemFrame, 0, len(outs))
	now := time.Now().UTC()
	for i, o := range outs {
		items = append(items, itemFrame{ID: "opening-" + strconv.Itoa(i+1), Dir: DirOut, Text: o.Text,
			Buttons: o.Buttons, Image: safeImage(o.Image), At: now})
	}
	return items
}

func (a *Adapter) address(c *conn) channel.Address {
	return channel.Address{Channel: channel.Web, ID: c.visitor}
}

// readLoop handles the frames of one connection in order until it closes.
func (a *Adapter) readLoop(ctx context.Context, c *conn, h channel.Handler) {
	strikes := 0
	// The idle limit runs while the connection waits for a frame, not
	// while one is handled.
	idle := time.AfterFunc(a.cfg.IdleTimeout, func() { c.ws.CloseNow() })
	defer idle.Stop()
	rctx := context.WithoutCancel(ctx) // Adapter.Close and idle end the read
	for {
		typ, b, err := c.ws.Read(rctx)
		idle.Stop()
		if err != nil {
			if errors.Is(err, websocket.ErrMessageTooBig) {
				a.log.Info().Str("visitor", c.visitor).Msg("webchat: frame over the read limit; connection closed")
			}
			return
		}
		if typ != websocket.MessageText {
			c.ws.Close(websocket.StatusUnsupportedData, "text frames only")
			return
		}
		ok := a.handleFrame(ctx, c, h, b)
		if ok {
			strikes = 0
		} else if strikes++; strikes >= maxStrikes {
			c.ws.Close(websocket.StatusPolicyViolation, "too many refused frames")
			return
		}
		idle.Reset(a.cfg.IdleTimeout)
	}
}

// handleFrame handles one client frame; it reports false for a refused one.
func (a *Adapter) handleFrame(ctx context.Context, c *conn, h channel.Handler, b []byte) bool {
	f, err := decodeClientFrame(b, a.cfg.MaxMessageBytes)
	if err != nil {
		var fe *frameError
		if !errors.As(err, &fe) {
			fe = &frameError{Code: codeBadFrame, Msg: err.Error()}
		}
		c.write(ctx, mustJSON(errorFrame{Type: "error", ID: fe.ID, Code: fe.Code, Error: fe.Msg}))
		return false
	}
	switch f.Type {
	case typePing:
		c.write(ctx, pongJSON)
		return true
	case typeTyping:
		a.visitorTyping(ctx, c)
		return true
	case typeSeen:
		a.visitorSeen(ctx, c)
		return true
	case typeHello:
		c.write(ctx, mustJSON(errorFrame{Type: "error", Code: codeBadFrame, Error: "hello was already received"}))
		return false
	}
	if !c.v.lim.Allow() {
		c.write(ctx, mustJSON(errorFrame{Type: "error", ID: f.ID, Code: codeRateLimited,
			Error: "too many messages; please wait a moment"}))
		return false
	}
	atts, err := a.messageFiles(ctx, c.visitor, f.Files)
	if err != nil {
		c.write(ctx, mustJSON(errorFrame{Type: "error", ID: f.ID, Code: codeBadFrame, Error: err.Error()}))
		return false
	}
	now := time.Now().UTC()
	in := channel.Inbound{
		Attachments: atts,
		From:        a.address(c),
		EventID:     "web:" + c.visitor + ":" + f.ID,
		Text:        f.Text,
		At:          now,
		Greeted:     c.greeted,
		Profile:     c.profile,
	}
	if f.Type == typeButton {
		in.Payload = f.Value
		if in.Text == "" {
			in.Text = f.Value
		}
		if c.greeted {
			// A button of the opening speaks the browser's language (the
			// opening was shown in it) and has no language of its own to
			// detect: the conversation goes on in it. Typed text is left
			// to the engine's detection: many people write Russian in an
			// English browser.
			in.Lang = c.lang
		}
	}
	held := &heldFrames{c: c}
	hctx, cancel := context.WithTimeout(context.WithValue(ctx, heldKey{}, held), handleTimeout)
	err = h.HandleInbound(hctx, in)
	cancel()
	if err != nil {
		a.log.Error().Err(err).Str("visitor", c.visitor).Str("event", in.EventID).Msg("webchat: inbound not recorded")
		held.flush(ctx, a, mustJSON(errorFrame{Type: "error", ID: f.ID, Code: codeRetry, Error: "message not delivered yet; retrying"}), nil)
		return true // not the client's fault
	}
	// The conversation has begun: later messages answer it, not the opening.
	c.greeted = false
	// Typing after this is a new message, told at once (wait.go).
	c.typedAt = time.Time{}
	// Durably recorded: only now may the widget mark it sent, and the
	// other tabs show it. The replies of a turn run during HandleInbound
	// follow the ack (and the echo) in the same frame.
	held.flush(ctx, a, ackJSON(f.ID), func() []byte {
		var files []channel.File
		for _, at := range atts {
			files = append(files, channel.File{ID: strings.TrimPrefix(at.URL, channel.FileScheme), Kind: at.Kind, Name: at.Name, Type: at.Type, Size: at.Size})
		}
		return mustJSON(echoFrame{Type: "echo", ID: f.ID, Text: in.Text, Files: a.fileFrames(c.visitor, files), At: now})
	})
	return true
}

// truncate cuts s to at most n bytes at a rune boundary (a close reason
// must be valid UTF-8 and at most 123 bytes).
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
