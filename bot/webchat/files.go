package webchat

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/parley-chat/parley/bot/channel"
)

// Attachments in the web chat. The widget uploads a file with
// POST /files?name=… (the body is the file; the visitor's token in the
// X-Parley-Token header), gets its id back and sends it in a message
// frame's "files". Files reach the widget as links
// /files/<id>?v=<visitor>&s=<signature>: the signature (HMAC of visitor and
// file id with the token key) is a capability only the file's own visitor is
// given, so an <img> can load it without the token in the URL, and a leaked
// link opens that one file and nothing else. The server also checks that
// the file is the visitor's conversation's (Files.OpenFile).

// Files keeps the visitors' files; the runtime implements it (bot/files.go).
type Files interface {
	// SaveFile checks data against the operator's policy (size, sniffed
	// type) and stores it for the conversation of from.
	SaveFile(ctx context.Context, from channel.Address, name string, data []byte) (channel.File, error)
	// OpenFile returns file id if it belongs to owner's conversation, with
	// its bytes when withData.
	OpenFile(ctx context.Context, owner channel.Address, id string, withData bool) (channel.File, error)
}

// maxFilesPerMessage bounds the files one message frame carries.
const maxFilesPerMessage = 10

// SetFiles enables attachments (before serving). maxBytes bounds an upload's
// body; the policy in f has the final word.
func (a *Adapter) SetFiles(f Files, maxBytes int64) {
	a.files, a.maxFileBytes = f, maxBytes
	if a.maxFileBytes <= 0 {
		a.maxFileBytes = channel.DefaultMaxFileBytes
	}
}

const fileLabel = "parley webchat file v1\x00"

func (a *Adapter) fileSig(visitor, id string) string {
	m := hmac.New(sha256.New, a.signer.secret)
	m.Write([]byte(fileLabel))
	m.Write([]byte(visitor))
	m.Write([]byte{0})
	m.Write([]byte(id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// fileFrame is a file in a server frame; URL is relative to the chat's origin.
type fileFrame struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	Name string `json:"name,omitempty"`
	Type string `json:"type,omitempty"`
	Size int64  `json:"size,omitempty"`
	URL  string `json:"url"`
}

func (a *Adapter) fileFrames(visitor string, files []channel.File) []fileFrame {
	if len(files) == 0 {
		return nil
	}
	out := make([]fileFrame, 0, len(files))
	for _, f := range files {
		out = append(out, fileFrame{ID: f.ID, Kind: f.Kind, Name: f.Name, Type: f.Type, Size: f.Size,
			URL: "/files/" + url.PathEscape(f.ID) + "?v=" + url.QueryEscape(visitor) + "&s=" + a.fileSig(visitor, f.ID)})
	}
	return out
}

// serveUpload stores a visitor's file: POST /files?name=NAME with the file
// as the body and the visitor token in X-Parley-Token. The answer is the
// file as the widget puts it in a message ({"id", "kind", ...}).
func (a *Adapter) serveUpload(w http.ResponseWriter, r *http.Request) {
	if a.files == nil {
		jsonError(w, http.StatusNotFound, "attachments are not enabled on this server")
		return
	}
	if !a.corsAllowed(w, r) {
		jsonError(w, http.StatusForbidden, "this site may not upload to the chat")
		return
	}
	visitor, err := a.signer.verify(r.Header.Get("X-Parley-Token"))
	if err != nil {
		jsonError(w, http.StatusUnauthorized, "sign in to the chat first: the visitor token is missing or invalid")
		return
	}
	// The visitor's own rate: uploads count as messages, and only a visitor
	// with the chat open may upload.
	a.mu.Lock()
	v := a.visitors[visitor]
	a.mu.Unlock()
	if v == nil {
		jsonError(w, http.StatusConflict, "open the chat before sending a file")
		return
	}
	if !v.lim.Allow() {
		jsonError(w, http.StatusTooManyRequests, "too many messages; please wait a moment")
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.maxFileBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		jsonError(w, http.StatusRequestEntityTooLarge, (&channel.FileRefusal{Reason: "too_big", Size: a.maxFileBytes + 1, Limit: a.maxFileBytes}).Error())
		return
	}
	if err != nil {
		jsonError(w, http.StatusBadRequest, "the upload was cut off; try again")
		return
	}
	addr := channel.Address{Channel: channel.Web, ID: visitor}
	f, err := a.files.SaveFile(r.Context(), addr, r.URL.Query().Get("name"), data)
	var refusal *channel.FileRefusal
	switch {
	case errors.As(err, &refusal):
		code := http.StatusUnsupportedMediaType
		if refusal.Reason == "too_big" {
			code = http.StatusRequestEntityTooLarge
		} else if refusal.Reason == "empty" {
			code = http.StatusBadRequest
		}
		jsonError(w, code, refusal.Error())
		return
	case err != nil:
		a.log.Error().Err(err).Str("visitor", visitor).Msg("webchat: file not stored")
		jsonError(w, http.StatusServiceUnavailable, "the file could not be stored; try again")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(a.fileFrames(visitor, []channel.File{f})[0])
}

// serveFile sends a file to its visitor: GET /files/{id}?v=VISITOR&s=SIG.
func (a *Adapter) serveFile(w http.ResponseWriter, r *http.Request) {
	if a.files == nil {
		http.NotFound(w, r)
		return
	}
	id, visitor := r.PathValue("id"), r.URL.Query().Get("v")
	if !hmac.Equal([]byte(r.URL.Query().Get("s")), []byte(a.fileSig(visitor, id))) {
		http.NotFound(w, r) // the same answer as for a file that does not exist
		return
	}
	f, err := a.files.OpenFile(r.Context(), channel.Address{Channel: channel.Web, ID: visitor}, id, true)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	channel.ServeFile(w, r, f)
}

// corsAllowed answers the cross-origin rules of an upload: a page of our
// own origin, or of an origin in AllowedOrigins (a site embedding the
// widget), may upload; it sets the CORS headers for the latter.
func (a *Adapter) corsAllowed(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true // not a browser's cross-origin request
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	if u.Host == r.Host {
		return true
	}
	for _, p := range a.cfg.AllowedOrigins {
		target := u.Host
		if strings.Contains(p, "://") {
			target = u.Scheme + "://" + u.Host
		}
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(target)); ok {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Methods", "POST")
			h.Set("Access-Control-Allow-Headers", "X-Parley-Token, Content-Type")
			h.Add("Vary", "Origin")
			return true
		}
	}
	return false
}

func jsonError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// messageFiles resolves the file ids of a visitor's message frame to its
// attachments; an id that is not the visitor's is refused.
func (a *Adapter) messageFiles(ctx context.Context, visitor string, ids []string) ([]channel.Attachment, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if a.files == nil {
		return nil, errors.New("attachments are not enabled on this server")
	}
	out := make([]channel.Attachment, 0, len(ids))
	for _, id := range ids {
		f, err := a.files.OpenFile(ctx, channel.Address{Channel: channel.Web, ID: visitor}, id, false)
		if err != nil {
			return nil, errors.New("file " + id + " is not one of yours; upload it again")
		}
		out = append(out, channel.Attachment{Kind: f.Kind, URL: channel.FileScheme + f.ID, Name: f.Name, Type: f.Type, Size: f.Size})
	}
	return out, nil
}
