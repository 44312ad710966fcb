package handoff

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/store"
)

// fileStore keeps attachments (store/files.go). A Store without it offers
// no file routes' content: they answer 404.
type fileStore interface {
	PutFile(ctx context.Context, f store.File, data []byte) (store.File, error)
	File(id string) (store.File, error)
	FileData(id string) (store.File, []byte, error)
}

// fileJSON is a stored file in the console API; URL is where a signed-in
// agent downloads it.
type fileJSON struct {
	ID   string `json:"id"`
	Kind string `json:"kind"` // image or file
	Name string `json:"name,omitempty"`
	Type string `json:"type"`
	Size int64  `json:"size"`
	URL  string `json:"url,omitempty"` // "" once the retention cleanup emptied it
}

func (s *Service) fileRoutes() []route {
	return []route{
		{"GET", "/console/assets/files.js", false, s.asset("files.js")},
		{"POST", "/api/tickets/{id}/files", false, s.apiSendFile},
		{"GET", "/api/files/{id}", false, s.apiFile},
	}
}

func (s *Service) files() fileStore {
	fs, _ := s.st.(fileStore)
	return fs
}

// messageFiles are the stored files among a message's attachment refs.
func (s *Service) messageFiles(refs []string) []fileJSON {
	fs := s.files()
	if fs == nil {
		return nil
	}
	var out []fileJSON
	for _, ref := range refs {
		id, ok := store.ParseAttachmentRef(ref)
		if !ok {
			continue
		}
		f, err := fs.File(id)
		if err != nil {
			continue
		}
		fj := fileJSON{ID: f.ID, Kind: f.Kind, Name: f.Name, Type: f.Type, Size: f.Size}
		if f.Erased.IsZero() {
			fj.URL = "/api/files/" + f.ID
		}
		out = append(out, fj)
	}
	return out
}

// apiSendFile sends a file from the agent to the customer:
// POST /api/tickets/{id}/files?name=NAME[&text=TEXT][&address=ADDR] with
// the file as the body. Only the agent holding the ticket may; the file is
// checked against the operator's policy (sniffed type, size), stored with
// the conversation and delivered through the customer's channel like a
// reply. The answer is the ticket.
func (s *Service) apiSendFile(w http.ResponseWriter, r *http.Request) {
	id, ok := ticketID(w, r)
	if !ok {
		return
	}
	fs := s.files()
	if fs == nil {
		writeErr(w, http.StatusNotFound, "this server keeps no files")
		return
	}
	a := sessionFrom(r).agent
	t, err := s.Visible(a, id)
	if err != nil {
		s.fail(w, err)
		return
	}
	if t.Status != StatusAssigned || t.AgentID != a.ID {
		writeErr(w, http.StatusConflict, "claim the ticket before sending a file")
		return
	}
	pol := s.cfg.Files.WithDefaults()
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, pol.MaxBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeErr(w, http.StatusRequestEntityTooLarge, (&channel.FileRefusal{Reason: "too_big", Size: pol.MaxBytes + 1, Limit: pol.MaxBytes}).Error())
		return
	}
	if err != nil {
		writeErr(w, http.StatusBadRequest, "the upload was cut off; try again")
		return
	}
	ct, err := pol.Check(data)
	if err != nil {
		code := http.StatusUnsupportedMediaType
		if errors.Is(err, channel.ErrFileTooBig) {
			code = http.StatusRequestEntityTooLarge
		}
		writeErr(w, code, err.Error())
		return
	}
	q := r.URL.Query()
	f, err := fs.PutFile(r.Context(), store.File{ContactID: t.ContactID, Name: channel.CleanFileName(q.Get("name")),
		Type: ct, Sender: "agent:" + a.ID, Source: "console"}, data)
	if err != nil {
		s.fail(w, err)
		return
	}
	t, err = s.reply(r.Context(), a, id, strings.TrimSpace(q.Get("text")), q.Get("address"), []string{f.ID})
	if err != nil {
		s.fail(w, err)
		return
	}
	s.writeJSON(w, http.StatusOK, s.ticketJSON(t))
}

// apiFile serves a stored file to a signed-in agent (the router checked
// the session): pictures inline, anything else as a download, always with
// the sniffed type and nosniff.
func (s *Service) apiFile(w http.ResponseWriter, r *http.Request) {
	fs := s.files()
	if fs == nil {
		writeErr(w, http.StatusNotFound, "this server keeps no files")
		return
	}
	f, data, err := fs.FileData(r.PathValue("id"))
	switch {
	case errors.Is(err, store.ErrFileErased):
		writeErr(w, http.StatusGone, "the file was removed by the retention policy")
		return
	case err != nil:
		s.fail(w, err)
		return
	}
	channel.ServeFile(w, r, channel.File{ID: f.ID, Kind: f.Kind, Name: f.Name, Type: f.Type, Size: f.Size, Data: data})
}
