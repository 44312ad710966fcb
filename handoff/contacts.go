package handoff

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/parley-chat/parley/store"
)

// Contact routes: the links (merges) a contact took part in, and their undo
// by a lead. A customer links their channels themselves (a link code); an
// agent sees the result as one contact with several channels, and a lead
// can split a wrong link back (store.UndoMerge says what goes back where).

// mergeStore is what the contact routes need beyond Store; *store.DB has it.
type mergeStore interface {
	Merges(contactID string) ([]store.MergeRecord, error)
	UndoMerge(ctx context.Context, mergeID uint64, by string) (store.MergeRecord, error)
}

// identityStore finds the contact a channel identity belongs to now;
// *store.DB has it.
type identityStore interface {
	ContactByIdentity(identity string) (store.Contact, error)
}

// contactRef resolves a contact reference of a URL: a contact id
// ("c_06h…"), or a channel identity ("telegram:42", "web:v_x") that is
// looked up, so a lead can go from the channel a customer names to the
// contact that owns it now. Contact ids hold no colon; identities do.
func (s *Service) contactRef(ref string) (store.Contact, error) {
	if !strings.Contains(ref, ":") {
		return s.st.Contact(ref)
	}
	is, ok := s.st.(identityStore)
	if !ok {
		return store.Contact{}, fmt.Errorf("contact %q: this store cannot look contacts up by channel identity: %w", ref, ErrBadRequest)
	}
	c, err := is.ContactByIdentity(ref)
	if errors.Is(err, store.ErrNotFound) {
		return store.Contact{}, fmt.Errorf("no contact has the channel identity %q: %w", ref, store.ErrNotFound)
	}
	if err != nil {
		return store.Contact{}, fmt.Errorf("contact of %q: %w", ref, err)
	}
	return c, nil
}

// forgetStore erases a contact; *store.DB has it.
type forgetStore interface {
	ForgetContact(ctx context.Context, id, by string) (store.ForgetResult, error)
}

// exportStore exports a contact; *store.DB has it.
type exportStore interface {
	ExportContact(id string) (store.ContactExport, error)
}

func (s *Service) contactRoutes() []route {
	return []route{
		{"GET", "/api/contacts/{id}/merges", false, s.apiMerges},
		{"POST", "/api/merges/{id}/undo", false, s.apiUndoMerge},
		{"POST", "/api/contacts/{id}/forget", false, s.apiForget},
		{"GET", "/api/contacts/{id}/export", false, s.apiExport},
	}
}

// compactHint is what an online erasure leaves to do: bbolt keeps freed
// pages, with the erased text in them, until the file is rewritten.
const compactHint = "the records are erased; stop the server and run `parley compact` to remove their bytes from the database file (backups taken before keep them)"

// apiForget answers POST /api/contacts/{id}/forget, for admins: a
// customer's erasure request while the server runs (store.ForgetContact
// says what goes and what is kept anonymised). The body repeats the contact
// id, {"confirm": "<id>"}, so a stray request erases nothing. A message the
// customer sends afterwards starts a new contact.
func (s *Service) apiForget(w http.ResponseWriter, r *http.Request) {
	sess := sessionFrom(r)
	if sess.agent.Role != RoleAdmin {
		writeErr(w, http.StatusForbidden, "erasing a customer's data is for admins")
		return
	}
	fs, ok := storeAs[forgetStore](s, w, "this store cannot erase contacts")
	if !ok {
		return
	}
	id := r.PathValue("id")
	var in struct {
		Confirm string `json:"confirm"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	if in.Confirm != id {
		writeErr(w, http.StatusBadRequest, fmt.Sprintf(`"confirm" must repeat the contact id %q`, id))
		return
	}
	res, err := fs.ForgetContact(r.Context(), id, sess.agentID)
	if err != nil {
		s.fail(w, err)
		return
	}
	s.log.Info().Str("agent", sess.agentID).Str("contact", id).Str("anonymous", res.Anonymous).
		Int("messages", res.Messages).Int("tickets", res.Tickets).Msg("contact erased")
	for _, id := range res.TicketIDs {
		// Anonymised, and resolved if it was open: consoles reload their
		// queue and a view of the ticket.
		s.hub.publish(liveEvent{Type: "ticket", TicketID: id, Status: StatusResolved})
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"forgotten": res, "next": compactHint})
}

// apiExport answers GET /api/contacts/{id}/export, for admins: everything
// stored about a customer and the contacts merged into them
// (store.ExportContact, the ids an erasure would take), as `parley contacts
// export` writes it offline: a data subject's access request while the
// server runs. It is sent as a file and logged with who asked.
func (s *Service) apiExport(w http.ResponseWriter, r *http.Request) {
	sess := sessionFrom(r)
	if sess.agent.Role != RoleAdmin {
		writeErr(w, http.StatusForbidden, "exporting a customer's data is for admins")
		return
	}
	es, ok := storeAs[exportStore](s, w, "this store cannot export contacts")
	if !ok {
		return
	}
	id := r.PathValue("id")
	exp, err := es.ExportContact(id)
	if err != nil {
		s.fail(w, err)
		return
	}
	s.log.Info().Str("agent", sess.agentID).Str("contact", id).Int("messages", len(exp.History)).Msg("contact exported")
	w.Header().Set("Content-Disposition", `attachment; filename="contact-`+id+`.json"`)
	w.Header().Set("Cache-Control", "no-store")
	s.writeJSON(w, http.StatusOK, exp)
}

// mergeJSON is one merge as the console shows it: who was joined to whom,
// how and when; not the absorbed contact's stored fields.
type mergeJSON struct {
	ID             uint64     `json:"id"`
	At             time.Time  `json:"at"`
	IntoID         string     `json:"into_id"`
	FromID         string     `json:"from_id"`
	FromName       string     `json:"from_name,omitempty"`
	FromIdentities []string   `json:"from_identities"`
	Reason         string     `json:"reason"`
	By             string     `json:"by,omitempty"`
	UndoneAt       *time.Time `json:"undone_at,omitempty"`
	UndoneBy       string     `json:"undone_by,omitempty"`
}

func toMergeJSON(m store.MergeRecord) mergeJSON {
	ids := m.From.Identities
	if ids == nil {
		ids = []string{}
	}
	return mergeJSON{ID: m.ID, At: m.At, IntoID: m.IntoID, FromID: m.From.ID, FromName: m.From.Name,
		FromIdentities: ids, Reason: m.Reason, By: m.By, UndoneAt: tsPtr(m.UndoneAt), UndoneBy: m.UndoneBy}
}

// apiMerges answers GET /api/contacts/{id}/merges: the contact's merges,
// oldest first; {id} is a contact id or a channel identity (contactRef),
// and the answer names the contact it resolved to. They name the absorbed contact and its channels, also after
// an undo, so leads and admins read every contact's, and an agent only
// those of a contact with a ticket they can open: its open ticket when it is
// queued or theirs, or its last ticket when that was theirs.
func (s *Service) apiMerges(w http.ResponseWriter, r *http.Request) {
	ms, ok := storeAs[mergeStore](s, w, "this store keeps no merge records")
	if !ok {
		return
	}
	c, err := s.contactRef(r.PathValue("id"))
	if err != nil {
		s.fail(w, err)
		return
	}
	id := c.ID
	if a := sessionFrom(r).agent; !isLead(a) {
		ts, err := s.st.TicketStateFor(id)
		if err != nil {
			s.fail(w, err)
			return
		}
		if !(ts.HasOpen && canView(a, ts.Open)) && !(ts.HasLast && canView(a, ts.Last)) {
			writeErr(w, http.StatusForbidden, "a contact's links are for leads, and for agents with a ticket of that contact")
			return
		}
	}
	recs, err := ms.Merges(id)
	if err != nil {
		s.fail(w, err)
		return
	}
	out := []mergeJSON{}
	for _, m := range recs {
		out = append(out, toMergeJSON(m))
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"contact": id, "merges": out})
}

// apiUndoMerge answers POST /api/merges/{id}/undo, for leads and admins:
// the absorbed contact comes back with its channels and its part of the
// history. 409 when the merge cannot be undone as things stand (already
// undone, or a later merge involves the survivor).
func (s *Service) apiUndoMerge(w http.ResponseWriter, r *http.Request) {
	sess := sessionFrom(r)
	if sess.agent.Role != RoleLead && sess.agent.Role != RoleAdmin {
		writeErr(w, http.StatusForbidden, "undoing a link is for leads")
		return
	}
	ms, ok := storeAs[mergeStore](s, w, "this store keeps no merge records")
	if !ok {
		return
	}
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		writeErr(w, http.StatusBadRequest, fmt.Sprintf("merge id %q: want a positive number", r.PathValue("id")))
		return
	}
	rec, err := ms.UndoMerge(r.Context(), id, sess.agentID)
	switch {
	case errors.Is(err, store.ErrUndo), errors.Is(err, store.ErrTicketOpen):
		writeErr(w, http.StatusConflict, err.Error())
		return
	case err != nil:
		s.fail(w, err)
		return
	}
	s.log.Info().Str("agent", sess.agentID).Uint64("merge", id).Str("contact", rec.From.ID).Msg("contact link undone")
	s.writeJSON(w, http.StatusOK, map[string]any{"merge": toMergeJSON(rec)})
}
