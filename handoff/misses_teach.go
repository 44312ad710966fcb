package handoff

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"

	"github.com/parley-chat/parley/handoff/analytics"
	"github.com/parley-chat/parley/store"
)

// Teaching the bot from the misses inbox: a lead adds a missed message to
// an FAQ entry or intent, or starts a new FAQ entry. The Teacher (cmd's,
// which knows the project directory) edits faq.yaml, lints the project,
// writes the file and reloads; this file owns the API and its rules.

// Teacher changes the serving project's knowledge base. Its methods are
// called concurrently.
type Teacher interface {
	// KnowledgeBase lists the FAQ entries and intents to pick from and the
	// project's languages (the default first).
	KnowledgeBase() (KnowledgeBase, error)
	// Teach applies req to the project's files, lints and reloads. A
	// change lint refuses is not written: the error is a *TeachRefused.
	Teach(ctx context.Context, req TeachRequest) (TeachResult, error)
	// Understand is what the serving project makes of a message now.
	Understand(text string) analytics.Recheck
}

// KnowledgeBase is what the console's picker shows.
type KnowledgeBase struct {
	Languages []string `json:"languages"`
	Items     []KBItem `json:"items"`
	// Editable is false when the server runs a project it cannot write
	// (the built-in demo); Why says what to do then.
	Editable bool   `json:"editable"`
	Why      string `json:"why,omitempty"`
}

// KBItem is one FAQ entry ("faq") or intent ("intent").
type KBItem struct {
	Kind     string              `json:"kind"`
	ID       string              `json:"id"`
	Title    map[string]string   `json:"title,omitempty"`
	Examples map[string][]string `json:"examples,omitempty"`
	Count    int                 `json:"count"`
}

// TeachRequest is POST /api/misses/teach's body: Text in Lang added to
// Target, or New started. Texts are the group's messages to understand
// again once the project has reloaded.
type TeachRequest struct {
	Text   string       `json:"text"`
	Lang   string       `json:"lang"`
	Target *TeachTarget `json:"target,omitempty"`
	New    *NewFAQEntry `json:"new,omitempty"`
	Texts  []string     `json:"texts,omitempty"`
}

// TeachTarget is an existing FAQ entry or intent.
type TeachTarget struct {
	Kind string `json:"kind"` // faq or intent
	ID   string `json:"id"`
}

// NewFAQEntry is a FAQ entry started from a miss, texts by language.
type NewFAQEntry struct {
	ID        string              `json:"id"`
	Title     map[string]string   `json:"title,omitempty"`
	Questions map[string][]string `json:"questions"`
	Answer    map[string]string   `json:"answer"`
}

// TeachResult is what a change did.
type TeachResult struct {
	File    string              `json:"file"`    // the file written, relative to the project
	Version string              `json:"version"` // the project version now serving
	Now     []analytics.Recheck `json:"now"`     // the request's texts, understood again
}

// TeachRefused is a change that fails lint (or cannot be made): nothing
// was written.
type TeachRefused struct {
	Msg      string   // one line: what to do
	Problems []string // lint's problems, file:line:col: message
}

func (e *TeachRefused) Error() string {
	if len(e.Problems) == 0 {
		return e.Msg
	}
	return e.Msg + ": " + strings.Join(e.Problems, "; ")
}

// SetTeacher sets who edits the project (nil: teaching is off). Safe to
// call while serving.
func (s *Service) SetTeacher(t Teacher) {
	s.teach.Lock()
	defer s.teach.Unlock()
	s.teach.t = t
}

type teacherSource struct {
	sync.Mutex
	t Teacher
}

func (s *Service) teacher() Teacher {
	s.teach.Lock()
	defer s.teach.Unlock()
	return s.teach.t
}

// missesRoutes: the inbox's page and its API.
func (s *Service) missesRoutes() []route {
	return []route{
		{"GET", "/console/misses", false, s.page("misses.html")},
		{"GET", "/console/assets/misses.js", false, s.asset("misses.js")},
		{"GET", "/console/assets/misses.css", false, s.asset("misses.css")},
		{"GET", "/api/misses/kb", false, s.apiMissesKB},
		{"POST", "/api/misses/teach", false, s.apiMissesTeach},
	}
}

const noTeacher = "this server cannot change its project; start it with `parley serve --flows DIR`"

// apiMissesKB answers GET /api/misses/kb: the FAQ entries and intents a
// miss can be added to.
func (s *Service) apiMissesKB(w http.ResponseWriter, r *http.Request) {
	if !isLead(sessionFrom(r).agent) {
		writeErr(w, http.StatusForbidden, "teaching the bot is for leads and admins")
		return
	}
	t := s.teacher()
	if t == nil {
		s.writeJSON(w, http.StatusOK, KnowledgeBase{Why: noTeacher})
		return
	}
	kb, err := t.KnowledgeBase()
	if err != nil {
		s.log.Error().Err(err).Msg("misses: knowledge base")
		writeErr(w, http.StatusInternalServerError, "cannot read the knowledge base: "+err.Error())
		return
	}
	s.writeJSON(w, http.StatusOK, kb)
}

// apiMissesTeach answers POST /api/misses/teach: the change is linted,
// written into the project's faq.yaml and reloaded, then the request's
// texts are understood again. Leads and admins only; audited.
func (s *Service) apiMissesTeach(w http.ResponseWriter, r *http.Request) {
	sess := sessionFrom(r)
	if !isLead(sess.agent) {
		writeErr(w, http.StatusForbidden, "teaching the bot is for leads and admins")
		return
	}
	var req TeachRequest
	if !readJSON(w, r, &req) {
		return
	}
	if (req.Target == nil) == (req.New == nil) {
		writeErr(w, http.StatusBadRequest, "give either target {kind, id} to add the text to, or new {id, questions, answer}")
		return
	}
	if req.Target != nil && strings.TrimSpace(req.Text) == "" {
		writeErr(w, http.StatusBadRequest, "text is empty: give the message to add")
		return
	}
	if len(req.Texts) > 20 {
		req.Texts = req.Texts[:20]
	}
	t := s.teacher()
	if t == nil {
		writeErr(w, http.StatusConflict, noTeacher)
		return
	}
	res, err := t.Teach(r.Context(), req)
	var refused *TeachRefused
	switch {
	case errors.As(err, &refused):
		b := map[string]any{"error": refused.Msg, "problems": refused.Problems}
		s.writeJSON(w, http.StatusUnprocessableEntity, b)
		return
	case err != nil:
		s.log.Error().Err(err).Msg("misses: teach")
		writeErr(w, http.StatusInternalServerError, "the change was not saved: "+err.Error())
		return
	}
	for _, text := range req.Texts {
		rc := t.Understand(text)
		rc.Text = text
		res.Now = append(res.Now, rc)
	}
	// The audit names what changed, not the customer's words.
	data := map[string]string{"by": sess.agentID, "file": res.File, "version": res.Version, "lang": req.Lang}
	if req.Target != nil {
		data["kind"], data["id"] = req.Target.Kind, req.Target.ID
	} else {
		data["kind"], data["id"], data["new"] = "faq", req.New.ID, "1"
	}
	s.logEvents(r.Context(), store.Event{At: s.now(), Type: "kb.taught", Data: data})
	s.log.Info().Str("by", sess.agentID).Str("kind", data["kind"]).Str("id", data["id"]).Str("version", res.Version).Msg("kb.taught")
	s.writeJSON(w, http.StatusOK, res)
}

// recheckMisses fills the report's "now" when the server can understand
// messages with its current project.
func (s *Service) recheckMisses(rep *analytics.MissReport) {
	if t := s.teacher(); t != nil {
		rep.Recheck(t.Understand)
	}
}
