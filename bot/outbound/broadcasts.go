package outbound

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/parley-chat/parley/bot"
	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/flows/segment"
	"github.com/parley-chat/parley/store"
)

// Broadcasts under /api/v1/broadcasts (scope broadcasts): create a draft,
// preview a segment, start, pause, resume, cancel, and read progress and
// per-recipient outcomes. The sending is bot.Broadcaster's.

// BroadcastStore is what the broadcast endpoints need of the store.
type BroadcastStore interface {
	bot.BroadcastStore
	CreateBroadcast(ctx context.Context, b store.Broadcast) (store.Broadcast, error)
	SetBroadcastState(ctx context.Context, id, state string) (store.Broadcast, error)
	Recipients(id string, from, limit int) ([]store.Recipient, error)
}

func (a *API) mountBroadcasts(mux *http.ServeMux) {
	h := func(fn func(BroadcastStore, http.ResponseWriter, *http.Request)) http.Handler {
		return a.auth(store.ScopeBroadcasts, func(w http.ResponseWriter, r *http.Request) {
			db, ok := a.db.(BroadcastStore)
			if !ok {
				writeError(w, http.StatusNotImplemented, "unsupported", "this server's store does not keep broadcasts")
				return
			}
			fn(db, w, r)
		})
	}
	mux.Handle("POST /api/v1/broadcasts", h(a.createBroadcast))
	mux.Handle("GET /api/v1/broadcasts", h(a.listBroadcasts))
	mux.Handle("POST /api/v1/broadcasts/preview", h(a.previewSegment))
	mux.Handle("GET /api/v1/broadcasts/{id}", h(a.getBroadcast))
	mux.Handle("POST /api/v1/broadcasts/{id}/{action}", h(a.broadcastAction))
}

type broadcastBody struct {
	Name          string         `json:"name"`
	Segment       string         `json:"segment"`
	Flow          string         `json:"flow"`
	Params        map[string]any `json:"params"`
	Transactional bool           `json:"transactional"`
	Rate          int            `json:"rate"`
	Window        string         `json:"window"`
	TimeZone      string         `json:"time_zone"`
}

func (a *API) createBroadcast(db BroadcastStore, w http.ResponseWriter, r *http.Request) {
	var body broadcastBody
	if _, ok := readBody(w, r, &body); !ok {
		return
	}
	b := store.Broadcast{Name: body.Name, Segment: body.Segment, Flow: body.Flow, Params: body.Params,
		Transactional: body.Transactional, Rate: body.Rate, Window: body.Window, TimeZone: body.TimeZone}
	var hasFlow func(string) bool
	if k, ok := a.rt.(interface{ KnowsFlow(string) bool }); ok {
		hasFlow = k.KnowsFlow
	}
	if err := bot.CheckBroadcast(b, hasFlow); err != nil {
		code := "invalid"
		if errors.Is(err, flows.ErrUnknownFlow) {
			code = "unknown_flow"
		}
		writeError(w, http.StatusUnprocessableEntity, code, err.Error())
		return
	}
	b, err := db.CreateBroadcast(r.Context(), b)
	if err != nil {
		a.internal(w, err)
		return
	}
	a.log.Info().Str("broadcast", b.ID).Str("key", keyOf(r).Name).Msg("broadcast created")
	writeJSON(w, http.StatusCreated, b)
}

func (a *API) listBroadcasts(db BroadcastStore, w http.ResponseWriter, r *http.Request) {
	all, err := db.Broadcasts()
	if err != nil {
		a.internal(w, err)
		return
	}
	if all == nil {
		all = []store.Broadcast{}
	}
	writeJSON(w, http.StatusOK, all)
}

type previewBody struct {
	Segment string `json:"segment"`
	Sample  int    `json:"sample"`
}

type previewContact struct {
	ID         string            `json:"id"`
	Name       string            `json:"name,omitempty"`
	Identities []string          `json:"identities"`
	Fields     map[string]string `json:"fields,omitempty"`
}

func (a *API) previewSegment(db BroadcastStore, w http.ResponseWriter, r *http.Request) {
	var body previewBody
	if _, ok := readBody(w, r, &body); !ok {
		return
	}
	seg, err := segment.Compile(body.Segment)
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "invalid", err.Error())
		return
	}
	if body.Sample <= 0 || body.Sample > 100 {
		body.Sample = 10
	}
	p, err := bot.PreviewSegment(db, seg, a.now(), body.Sample)
	if err != nil {
		a.internal(w, err)
		return
	}
	out := struct {
		Count  int              `json:"count"`
		Sample []previewContact `json:"sample"`
	}{Count: p.Count, Sample: []previewContact{}}
	for _, c := range p.Sample {
		out.Sample = append(out.Sample, previewContact{ID: c.ID, Name: c.Name, Identities: c.Identities, Fields: c.Fields})
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) getBroadcast(db BroadcastStore, w http.ResponseWriter, r *http.Request) {
	b, ok := a.broadcastOr404(db, w, r.PathValue("id"))
	if !ok {
		return
	}
	from, _ := strconv.Atoi(r.URL.Query().Get("from"))
	limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || limit <= 0 || limit > 1000 {
		limit = 100
	}
	rs, err := db.Recipients(b.ID, max(from, 0), limit)
	if err != nil {
		a.internal(w, err)
		return
	}
	if rs == nil {
		rs = []store.Recipient{}
	}
	writeJSON(w, http.StatusOK, struct {
		store.Broadcast
		Recipients []store.Recipient `json:"recipients"`
	}{b, rs})
}

func (a *API) broadcastOr404(db BroadcastStore, w http.ResponseWriter, id string) (store.Broadcast, bool) {
	b, err := db.Broadcast(id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "unknown_broadcast", fmt.Sprintf("no broadcast %q", id))
		return b, false
	} else if err != nil {
		a.internal(w, err)
		return b, false
	}
	return b, true
}

func (a *API) broadcastAction(db BroadcastStore, w http.ResponseWriter, r *http.Request) {
	id, action := r.PathValue("id"), r.PathValue("action")
	if _, ok := a.broadcastOr404(db, w, id); !ok {
		return
	}
	var b store.Broadcast
	var err error
	switch action {
	case "start":
		b, err = bot.StartBroadcast(r.Context(), db, id, a.now())
	case "pause":
		b, err = db.SetBroadcastState(r.Context(), id, store.BroadcastPaused)
	case "resume":
		b, err = db.SetBroadcastState(r.Context(), id, store.BroadcastRunning)
	case "cancel":
		b, err = db.SetBroadcastState(r.Context(), id, store.BroadcastCancelled)
	default:
		writeError(w, http.StatusNotFound, "not_found", "broadcast actions are start, pause, resume and cancel")
		return
	}
	if errors.Is(err, store.ErrConflict) {
		writeError(w, http.StatusConflict, "wrong_state", strings.TrimPrefix(strings.TrimSuffix(err.Error(), ": "+store.ErrConflict.Error()), "store: "))
		return
	} else if err != nil {
		a.internal(w, err)
		return
	}
	a.log.Info().Str("broadcast", id).Str("action", action).Str("key", keyOf(r).Name).Msg("broadcast changed")
	writeJSON(w, http.StatusOK, b)
}
