package handoff

import (
	"net/http"

	"github.com/parley-chat/parley/handoff/analytics"
)

// apiMisses answers GET /api/misses?from=DAY&to=DAY, for leads and
// admins: the misses inbox of the period (the dashboard's days, default
// the last 14), as `parley misses --json` prints it. The texts are the
// customers' own words, from the history.
func (s *Service) apiMisses(w http.ResponseWriter, r *http.Request) {
	if !isLead(sessionFrom(r).agent) {
		writeErr(w, http.StatusForbidden, "the misses inbox is for leads and admins")
		return
	}
	q := r.URL.Query()
	from, to, err := statsPeriod(q.Get("from"), q.Get("to"), s.now())
	if err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	src, ok := storeAs[analytics.MissSource](s, w, "this store keeps no event log")
	if !ok {
		return
	}
	rep, err := analytics.ComputeMisses(src, from, to)
	if err != nil {
		s.log.Error().Err(err).Msg("misses")
		writeErr(w, http.StatusInternalServerError, "internal error")
		return
	}
	s.recheckMisses(&rep)
	s.writeJSON(w, http.StatusOK, rep)
}
