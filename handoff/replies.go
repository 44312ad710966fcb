package handoff

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/parley-chat/parley/store"
)

// Saved replies: the project's canned replies (parley.yaml handoff.canned,
// LeadConfig.Canned), which the project file owns, and the ones leads
// write in the console, kept in the store. Agents pick from both; leads
// and admins create, edit and delete the console's, each change audited
// (an event and a log line, as for agent management).

// savedReplyStore keeps the console's saved replies; *store.DB has it.
type savedReplyStore interface {
	SavedReplies() ([]store.SavedReply, error)
	PutSavedReply(ctx context.Context, r store.SavedReply) (bool, error)
	DeleteSavedReply(ctx context.Context, id string) error
}

func (s *Service) replyRoutes() []route {
	return []route{
		{"POST", "/api/canned", false, s.leadOnly(s.apiSaveReply)},
		{"DELETE", "/api/canned/{id}", false, s.leadOnly(s.apiDeleteReply)},
	}
}

// leadOnly refuses agents with 403.
func (s *Service) leadOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !isLead(sessionFrom(r).agent) {
			writeErr(w, http.StatusForbidden, "managing saved replies is for leads and admins")
			return
		}
		h(w, r)
	}
}

// cannedJSON is a saved reply as the console lists it: Editable ones are
// the console's; the project's are changed in parley.yaml.
type cannedJSON struct {
	Canned
	Source    string     `json:"source"` // project or console
	Editable  bool       `json:"editable"`
	UpdatedBy string     `json:"updated_by,omitempty"`
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
}

// savedReplies lists the project's replies, then the console's by id.
func (s *Service) savedReplies() ([]cannedJSON, error) {
	var out []cannedJSON
	for _, c := range s.lead().Canned {
		out = append(out, cannedJSON{Canned: c, Source: "project"})
	}
	rs, ok := s.st.(savedReplyStore)
	if !ok {
		return out, nil
	}
	stored, err := rs.SavedReplies()
	if err != nil {
		return nil, err
	}
	for _, r := range stored {
		at := r.UpdatedAt
		out = append(out, cannedJSON{Canned: Canned{ID: r.ID, Title: r.Title, Text: r.Text, Lang: r.Lang},
			Source: "console", Editable: true, UpdatedBy: r.UpdatedBy, UpdatedAt: &at})
	}
	return out, nil
}

// canned finds a saved reply by id, the project's first.
func (s *Service) canned(id string) (Canned, bool) {
	all, err := s.savedReplies()
	if err != nil {
		s.log.Error().Err(err).Msg("saved replies")
	}
	for _, c := range all {
		if c.ID == id {
			return c.Canned, true
		}
	}
	return Canned{}, false
}

func (s *Service) apiCanned(w http.ResponseWriter, r *http.Request) {
	out, err := s.savedReplies()
	if err != nil {
		s.fail(w, err)
		return
	}
	if out == nil {
		out = []cannedJSON{}
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"canned": out, "can_edit": isLead(sessionFrom(r).agent)})
}

var replyID = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// apiSaveReply creates a saved reply ({"title","text","lang"}; the id is
// made up) or replaces the console's reply "id". A project reply cannot be
// replaced here (409: it is edited in parley.yaml).
func (s *Service) apiSaveReply(w http.ResponseWriter, r *http.Request) {
	rs, ok := storeAs[savedReplyStore](s, w, "this store keeps no saved replies")
	if !ok {
		return
	}
	var in struct{ ID, Title, Text, Lang string }
	if !readJSON(w, r, &in) {
		return
	}
	in.Title, in.Text, in.Lang = strings.TrimSpace(in.Title), strings.TrimSpace(in.Text), strings.ToLower(strings.TrimSpace(in.Lang))
	switch {
	case in.Text == "":
		writeErr(w, http.StatusBadRequest, "a saved reply needs a text")
		return
	case len(in.Text) > store.MaxSavedReplyText:
		writeErr(w, http.StatusBadRequest, fmt.Sprintf("the text is %d bytes; a saved reply holds at most %d", len(in.Text), store.MaxSavedReplyText))
		return
	case len([]rune(in.Title)) > 100:
		writeErr(w, http.StatusBadRequest, "the title is longer than 100 characters")
		return
	case in.Lang != "" && !langCode.MatchString(in.Lang):
		writeErr(w, http.StatusBadRequest, fmt.Sprintf("language %q: want a code such as ru or en, or none for every language", in.Lang))
		return
	case in.ID != "" && !replyID.MatchString(in.ID):
		writeErr(w, http.StatusBadRequest, fmt.Sprintf("reply id %q: want lower-case letters, digits and _, starting with a letter", in.ID))
		return
	}
	for _, c := range s.lead().Canned {
		if c.ID == in.ID {
			writeErr(w, http.StatusConflict, fmt.Sprintf("%q is the project's reply: change it in parley.yaml (handoff.canned)", in.ID))
			return
		}
	}
	if in.ID == "" {
		in.ID = "r" + strconv.FormatInt(s.now().UnixNano(), 36)
	}
	if in.Title == "" {
		in.Title = in.ID
	}
	by := sessionFrom(r).agentID
	created, err := rs.PutSavedReply(r.Context(), store.SavedReply{ID: in.ID, Title: in.Title, Text: in.Text, Lang: in.Lang, UpdatedBy: by})
	if err != nil {
		s.fail(w, err)
		return
	}
	typ := "canned.changed"
	if created {
		typ = "canned.added"
	}
	s.auditReply(r, typ, in.ID)
	s.hub.publish(liveEvent{Type: "config"})
	s.writeJSON(w, http.StatusOK, map[string]any{"canned": Canned{ID: in.ID, Title: in.Title, Text: in.Text, Lang: in.Lang}, "created": created})
}

var langCode = regexp.MustCompile(`^[a-z]{2,3}$`)

// apiDeleteReply deletes the console's saved reply {id}.
func (s *Service) apiDeleteReply(w http.ResponseWriter, r *http.Request) {
	rs, ok := storeAs[savedReplyStore](s, w, "this store keeps no saved replies")
	if !ok {
		return
	}
	id := r.PathValue("id")
	for _, c := range s.lead().Canned {
		if c.ID == id {
			writeErr(w, http.StatusConflict, fmt.Sprintf("%q is the project's reply: remove it from parley.yaml (handoff.canned)", id))
			return
		}
	}
	if err := rs.DeleteSavedReply(r.Context(), id); err != nil {
		s.fail(w, err)
		return
	}
	s.auditReply(r, "canned.removed", id)
	s.hub.publish(liveEvent{Type: "config"})
	s.writeJSON(w, http.StatusOK, map[string]any{"removed": id})
}

// auditReply records a change of a saved reply in the event log and the
// server log: which reply, who (never its text: it may name customers).
func (s *Service) auditReply(r *http.Request, typ, id string) {
	by := sessionFrom(r).agentID
	s.logEvents(r.Context(), store.Event{At: s.now(), Type: typ, Data: map[string]string{"reply": id, "by": by}})
	s.log.Info().Str("reply", id).Str("by", by).Msg(typ)
}
