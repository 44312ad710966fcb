package webchat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/internal/jsonx"
)

// Client frame types.
const (
	typeHello   = "hello"
	typeMessage = "message"
	typeButton  = "button"
	typePing    = "ping"
	typeTyping  = "typing"
	typeSeen    = "seen"
)

// Error codes of the "error" frame. The widget decides by code whether to
// retry a message (rate_limited, retry) or give up on it (too_big, bad_frame).
const (
	codeBadFrame    = "bad_frame"
	codeTooBig      = "too_big"
	codeRateLimited = "rate_limited"
	codeRetry       = "retry"
)

// Limits on the parts of a client frame other than the text.
const (
	maxClientIDLen = 64
	maxValueLen    = 256
	maxTokenLen    = 256
	maxPageLen     = 2048
)

// clientFrame is a decoded frame from the widget.
type clientFrame struct {
	Type  string `json:"type"`
	ID    string `json:"id,omitempty"`
	Text  string `json:"text,omitempty"`
	Value string `json:"value,omitempty"`
	Token string `json:"token,omitempty"`
	// Identity is a site-signed customer identity (identity.go).
	Identity *identityFrame `json:"identity,omitempty"`
	// Lang (hello) is the browser's language ("ru-RU"): the opening is
	// shown in it when the bot speaks it.
	Lang string `json:"lang,omitempty"`
	// Batch (hello) says the client reads several objects per frame, one
	// per line; a client that does not say so (a widget loaded before the
	// server was upgraded) gets one object per frame.
	Batch bool `json:"batch,omitempty"`
	// Page and Browser (hello) are the address of the page the widget is
	// on (without its query: that may hold tokens) and the browser's
	// user agent, for the agent's card (profile.go).
	Page    string `json:"page,omitempty"`
	Browser string `json:"browser,omitempty"`
	// Files (message) are ids of files the visitor uploaded (files.go).
	Files []string `json:"files,omitempty"`
}

// frameError is a client frame the server refuses; Code goes to the widget.
type frameError struct {
	Code string
	ID   string // the client message id, when it could be read
	Msg  string
}

func (e *frameError) Error() string { return e.Msg }

func badFrame(id, format string, args ...any) *frameError {
	return &frameError{Code: codeBadFrame, ID: id, Msg: fmt.Sprintf(format, args...)}
}

// decodeClientFrame parses and validates one frame from the widget. maxText
// is the limit on the customer's text in bytes. Every error is a
// *frameError whose message says what is wrong and where.
func decodeClientFrame(b []byte, maxText int) (clientFrame, error) {
	var f clientFrame
	if !utf8.Valid(b) {
		return f, badFrame("", "frame is not valid UTF-8")
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return f, badFrame("", "frame must be a JSON object")
	}
	if err := json.Unmarshal(b, &f); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return clientFrame{}, badFrame("", "frame is not valid JSON at byte %d: %v", se.Offset, err)
		case errors.As(err, &te):
			return clientFrame{}, badFrame("", "frame field %q must be a %s, not %s", te.Field, te.Type, te.Value)
		default:
			return clientFrame{}, badFrame("", "frame: %v", err)
		}
	}
	switch f.Type {
	case typeHello:
		if len(f.Token) > maxTokenLen {
			return f, badFrame("", "hello: token is %d bytes; the limit is %d", len(f.Token), maxTokenLen)
		}
		if len(f.Page) > maxPageLen || len(f.Browser) > maxPageLen {
			return f, badFrame("", "hello: page is %d bytes and browser %d; the limit is %d", len(f.Page), len(f.Browser), maxPageLen)
		}
		if id := f.Identity; id != nil && (len(id.ID) > maxCustomerID || len(id.Sig) > 2*maxTokenLen) {
			return f, badFrame("", "hello: identity id is %d bytes (limit %d), sig %d bytes (limit %d)",
				len(id.ID), maxCustomerID, len(id.Sig), 2*maxTokenLen)
		}
	case typePing, typeTyping, typeSeen:
	case typeMessage, typeButton:
		if err := checkClientID(f.ID); err != nil {
			return f, badFrame("", "%s: %v", f.Type, err)
		}
		if len(f.Text) > maxText {
			return f, &frameError{Code: codeTooBig, ID: f.ID,
				Msg: fmt.Sprintf("%s: text is %d bytes; the limit is %d", f.Type, len(f.Text), maxText)}
		}
		if len(f.Files) > maxFilesPerMessage {
			return f, &frameError{Code: codeTooBig, ID: f.ID,
				Msg: fmt.Sprintf("%s: %d files; the limit is %d", f.Type, len(f.Files), maxFilesPerMessage)}
		}
		if f.Type == typeMessage && isBlank(f.Text) && len(f.Files) == 0 {
			return f, badFrame(f.ID, "message: text is empty")
		}
		if f.Type == typeButton {
			if f.Value == "" {
				return f, badFrame(f.ID, "button: value is empty")
			}
			if len(f.Value) > maxValueLen {
				return f, &frameError{Code: codeTooBig, ID: f.ID,
					Msg: fmt.Sprintf("button: value is %d bytes; the limit is %d", len(f.Value), maxValueLen)}
			}
		}
	case "":
		return f, badFrame("", `frame has no "type"`)
	default:
		return f, badFrame("", "unknown frame type %q (want hello, message, button, typing, seen or ping)", f.Type)
	}
	return f, nil
}

// checkClientID accepts the ids the widget makes (hex) and any other short
// token-safe id, so EventID "web:<visitor>:<id>" stays unambiguous.
func checkClientID(id string) error {
	if id == "" {
		return errors.New(`"id" is missing`)
	}
	if len(id) > maxClientIDLen {
		return fmt.Errorf(`"id" is %d bytes; the limit is %d`, len(id), maxClientIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf(`"id" has %q at byte %d; use letters, digits, - and _`, c, i)
		}
	}
	return nil
}

// langCode is the primary subtag of a language tag ("ru-RU" -> "ru"), in
// lower case, or "" for anything that is not 2-3 ASCII letters.
func langCode(tag string) string {
	primary, _, _ := strings.Cut(tag, "-")
	if len(primary) < 2 || len(primary) > 3 {
		return ""
	}
	b := []byte(primary)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
		case c >= 'A' && c <= 'Z':
			b[i] = c + 'a' - 'A'
		default:
			return ""
		}
	}
	return string(b)
}

func isBlank(s string) bool {
	for _, r := range s {
		if r != ' ' && r != '\t' && r != '\n' && r != '\r' {
			return false
		}
	}
	return true
}

// Server frames. Each is marshalled once per send; encoding/json escapes <, >
// and & so a frame is also safe should anything ever inline it into HTML.

type helloFrame struct {
	Type    string `json:"type"`
	Token   string `json:"token"`
	Visitor string `json:"visitor"`
}

type historyFrame struct {
	Type  string      `json:"type"`
	Items []itemFrame `json:"items"`
	// Opening marks items that are not a stored history but the opening
	// of a conversation not yet begun (Opener).
	Opening bool `json:"opening,omitempty"`
}

type itemFrame struct {
	ID      string           `json:"id"`
	Dir     string           `json:"dir"`
	Text    string           `json:"text"`
	Buttons []channel.Button `json:"buttons,omitempty"`
	Image   string           `json:"image,omitempty"`
	Sender  string           `json:"sender,omitempty"`
	Files   []fileFrame      `json:"files,omitempty"`
	At      time.Time        `json:"at"`
}

type messageFrame struct {
	Type    string           `json:"type"`
	ID      string           `json:"id"`
	Text    string           `json:"text"`
	Buttons []channel.Button `json:"buttons,omitempty"`
	Image   string           `json:"image,omitempty"`
	Sender  string           `json:"sender,omitempty"`
	Files   []fileFrame      `json:"files,omitempty"`
	At      time.Time        `json:"at"`
}

// appendJSON appends f as json.Marshal writes it: the frame of every reply,
// encoded without reflection.
func (f *messageFrame) appendJSON(b []byte) []byte {
	b = jsonx.AppendField(b, `{"type":`, f.Type)
	b = jsonx.AppendField(b, `,"id":`, f.ID)
	b = jsonx.AppendField(b, `,"text":`, f.Text)
	if len(f.Buttons) > 0 {
		b = jsonx.AppendPairs(b, `,"buttons":`, `{"text":`, `,"value":`, f.Buttons, func(x channel.Button) (string, string) { return x.Text, x.Value })
	}
	b = jsonx.AppendOptField(b, `,"image":`, f.Image)
	b = jsonx.AppendOptField(b, `,"sender":`, f.Sender)
	if len(f.Files) > 0 {
		files, _ := json.Marshal(f.Files) // rare: no need for the hand-made encoding
		b = append(append(b, `,"files":`...), files...)
	}
	b = append(b, `,"at":"`...)
	b = f.At.AppendFormat(b, time.RFC3339Nano)
	return append(b, `"}`...)
}

type echoFrame struct {
	Type  string      `json:"type"`
	ID    string      `json:"id"`
	Text  string      `json:"text"`
	Files []fileFrame `json:"files,omitempty"`
	At    time.Time   `json:"at"`
}

// ackJSON is the ack frame for the client message id (ids are checked to
// be letters, digits, - and _, which need no quoting).
func ackJSON(id string) []byte {
	return append(jsonx.AppendField(make([]byte, 0, 24+len(id)), `{"type":"ack","id":`, id), '}')
}

type errorFrame struct {
	Type  string `json:"type"`
	ID    string `json:"id,omitempty"`
	Code  string `json:"code"`
	Error string `json:"error"`
}

var (
	typingJSON = []byte(`{"type":"typing"}`)
	pongJSON   = []byte(`{"type":"pong"}`)
)

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own frame structs of strings, times and buttons are
		// marshalled: an error here is a programming mistake.
		panic(fmt.Sprintf("webchat: marshal %T: %v", v, err))
	}
	return b
}
