package handoff

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/parley-chat/parley/store"
)

// Agent management in the console, for admins: the rules of `parley agents
// add` (names, roles agent|lead|admin, generated one-time passwords), while
// the server runs. Every change is an event in the log and a log line.

// agentRemover is the part of the store that deletes accounts
// (store.DB.DeleteAgent).
type agentRemover interface {
	DeleteAgent(ctx context.Context, id string) error
}

func (s *Service) agentAdminRoutes() []route {
	return []route{
		{"GET", "/api/admin/agents", false, s.adminOnly(s.apiAdminAgents)},
		{"POST", "/api/admin/agents", false, s.adminOnly(s.apiAdminAddAgent)},
		{"POST", "/api/admin/agents/{id}/role", false, s.adminOnly(s.apiAdminSetRole)},
		{"POST", "/api/admin/agents/{id}/password", false, s.adminOnly(s.apiAdminResetPassword)},
		{"DELETE", "/api/admin/agents/{id}", false, s.adminOnly(s.apiAdminRemoveAgent)},
	}
}

// adminOnly refuses everyone but admins with 403.
func (s *Service) adminOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if sessionFrom(r).agent.Role != RoleAdmin {
			writeErr(w, http.StatusForbidden, "managing agents is for admins")
			return
		}
		h(w, r)
	}
}

// adminAgentJSON is an account as the admin sees it.
type adminAgentJSON struct {
	agentJSON
	OneTime   bool      `json:"one_time_password"`
	CreatedAt time.Time `json:"created_at"`
}

func (s *Service) apiAdminAgents(w http.ResponseWriter, r *http.Request) {
	agents, err := s.st.Agents()
	if err != nil {
		s.fail(w, err)
		return
	}
	load, err := s.heldTickets()
	if err != nil {
		s.fail(w, err)
		return
	}
	out := []adminAgentJSON{}
	for _, a := range agents {
		out = append(out, adminAgentJSON{agentJSON: s.agentJSON(a, load), OneTime: a.PasswordOneTime, CreatedAt: a.CreatedAt})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	s.writeJSON(w, http.StatusOK, map[string]any{"agents": out})
}

// heldTickets counts the assigned tickets per agent.
func (s *Service) heldTickets() (map[string]int, error) {
	held, err := s.st.Tickets(StatusAssigned)
	if err != nil {
		return nil, err
	}
	load := map[string]int{}
	for _, t := range held {
		load[t.AgentID]++
	}
	return load, nil
}

// apiAdminAddAgent creates an account with a generated one-time password,
// answered once: the admin hands it over, the agent chooses their own at
// the first sign-in.
func (s *Service) apiAdminAddAgent(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name        string `json:"name"`
		DisplayName string `json:"display_name"`
		Role        string `json:"role"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	if in.Role == "" {
		in.Role = RoleAgent
	}
	pw := GeneratePassword()
	a, err := s.AddAgent(r.Context(), NewAgent{Name: normName(in.Name), DisplayName: in.DisplayName, Role: in.Role, Password: pw, OneTime: true})
	if err != nil {
		writeErr(w, http.StatusBadRequest, agentErr(err))
		return
	}
	s.audit(r, "agent.added", a.ID, "role", a.Role)
	s.writeJSON(w, http.StatusCreated, map[string]any{"agent": a, "password": pw})
}

// agentErr words an AddAgent error for the console (the CLI's hint names
// its flag).
func agentErr(err error) string {
	if errors.Is(err, store.ErrDuplicate) {
		return "that name is taken"
	}
	if errors.Is(err, ErrAgentExists) {
		return err.Error() + "; reset its password instead"
	}
	return err.Error()
}

// target loads the account a management route names and refuses changes to
// one's own account (an admin cannot lock the last admin out by demoting
// or removing themselves).
func (s *Service) target(w http.ResponseWriter, r *http.Request, what string) (store.Agent, bool) {
	a, err := s.st.Agent(r.PathValue("id"))
	if err != nil {
		s.fail(w, fmt.Errorf("agent %q: %w", r.PathValue("id"), err))
		return store.Agent{}, false
	}
	if a.ID == sessionFrom(r).agentID {
		writeErr(w, http.StatusConflict, "you cannot "+what+" your own account; another admin can")
		return store.Agent{}, false
	}
	return a, true
}

func (s *Service) apiAdminSetRole(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Role string `json:"role"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	switch in.Role {
	case RoleAgent, RoleLead, RoleAdmin:
	default:
		writeErr(w, http.StatusBadRequest, fmt.Sprintf("role %q: want agent, lead or admin", in.Role))
		return
	}
	a, ok := s.target(w, r, "change the role of")
	if !ok {
		return
	}
	old := a.Role
	a.Role = in.Role
	if err := s.st.PutAgent(r.Context(), a); err != nil {
		s.fail(w, err)
		return
	}
	s.audit(r, "agent.role", a.ID, "role", a.Role, "was", old)
	s.hub.publish(liveEvent{Type: "presence", AgentID: a.ID})
	s.writeJSON(w, http.StatusOK, map[string]any{"agent": a})
}

// apiAdminResetPassword gives the account a new one-time password and signs
// it out everywhere.
func (s *Service) apiAdminResetPassword(w http.ResponseWriter, r *http.Request) {
	a, ok := s.target(w, r, "reset the password of")
	if !ok {
		return
	}
	pw := GeneratePassword()
	a, err := s.AddAgent(r.Context(), NewAgent{Name: a.Name, DisplayName: a.DisplayName, Role: a.Role, Password: pw, OneTime: true, Replace: true})
	if err != nil {
		s.fail(w, err)
		return
	}
	s.presence.set(a.ID, PresenceOffline)
	s.audit(r, "agent.password_reset", a.ID)
	s.hub.publish(liveEvent{Type: "presence", AgentID: a.ID})
	s.writeJSON(w, http.StatusOK, map[string]any{"agent": a, "password": pw})
}

// apiAdminRemoveAgent deletes an account that holds no open ticket: those
// are reassigned first, so no customer is left with nobody.
func (s *Service) apiAdminRemoveAgent(w http.ResponseWriter, r *http.Request) {
	rm, ok := storeAs[agentRemover](s, w, "this store cannot remove agents")
	if !ok {
		return
	}
	a, ok := s.target(w, r, "remove")
	if !ok {
		return
	}
	load, err := s.heldTickets()
	if err != nil {
		s.fail(w, err)
		return
	}
	if n := load[a.ID]; n > 0 {
		writeErr(w, http.StatusConflict, fmt.Sprintf("%s holds %d open ticket(s); reassign them first", a.Name, n))
		return
	}
	if err := rm.DeleteAgent(r.Context(), a.ID); err != nil {
		s.fail(w, err)
		return
	}
	s.sessions.deleteAgent(r.Context(), a.ID)
	s.presence.set(a.ID, PresenceOffline)
	s.audit(r, "agent.removed", a.ID, "role", a.Role)
	s.hub.publish(liveEvent{Type: "presence", AgentID: a.ID})
	s.writeJSON(w, http.StatusOK, map[string]any{"removed": a.ID})
}

// audit records an account change in the event log and the server log.
func (s *Service) audit(r *http.Request, typ, agentID string, kv ...string) {
	by := sessionFrom(r).agentID
	data := map[string]string{"agent": agentID, "by": by}
	for i := 0; i+1 < len(kv); i += 2 {
		data[kv[i]] = kv[i+1]
	}
	s.logEvents(r.Context(), store.Event{At: s.now(), Type: typ, Data: data})
	ev := s.log.Info().Str("agent", agentID).Str("by", by)
	for i := 0; i+1 < len(kv); i += 2 {
		ev = ev.Str(kv[i], kv[i+1])
	}
	ev.Msg(typ)
}
