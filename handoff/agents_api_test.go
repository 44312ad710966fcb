package handoff

import (
	"net/http"
	"strings"
	"testing"
)

// Admins manage accounts in the console with the CLI's rules; agents and
// leads are refused every management route; each change is in the event
// log.
func TestAgentManagementAPI(t *testing.T) {
	e := newEnv(t, Config{})
	srv := e.server()
	e.agent("root", RoleAdmin)
	e.agent("anna", RoleAgent)
	e.agent("lena", RoleLead)

	for _, who := range []string{"anna", "lena"} {
		c := newClient(t, srv)
		c.login(who)
		for _, rt := range []struct{ method, path string }{
			{"GET", "/api/admin/agents"}, {"POST", "/api/admin/agents"}, {"POST", "/api/admin/agents/anna/role"},
			{"POST", "/api/admin/agents/anna/password"}, {"DELETE", "/api/admin/agents/anna"},
		} {
			res, b := c.do(rt.method, rt.path, map[string]string{"name": "evil", "role": "admin"}, nil)
			if res.StatusCode != http.StatusForbidden {
				t.Errorf("%s: %s %s = %d %s, want 403", who, rt.method, rt.path, res.StatusCode, b)
			}
		}
	}
	if _, err := e.db.AgentByName("evil"); err == nil {
		t.Fatal("a refused request created an account")
	}

	admin := newClient(t, srv)
	admin.login("root")
	var added struct {
		Agent    struct{ ID, Role string }
		Password string
	}
	admin.call("POST", "/api/admin/agents", map[string]string{"name": "Boris", "display_name": "Борис", "role": "lead"}, 201, &added)
	if added.Agent.ID != "boris" || added.Agent.Role != "lead" || len(added.Password) != 16 {
		t.Fatalf("added %+v", added)
	}
	if a, _ := e.db.Agent("boris"); !a.PasswordOneTime || a.DisplayName != "Борис" {
		t.Errorf("stored %+v: want a one-time password and the display name", a)
	}
	// The one-time password opens one sign-in, then a password change.
	b := newClient(t, srv)
	var me meJSON
	b.call("POST", "/api/login", map[string]string{"name": "boris", "password": added.Password}, 200, &me)
	if !me.PasswordChangeRequired {
		t.Error("first sign-in does not ask for a new password")
	}

	for _, bad := range []map[string]string{{"name": "boris"}, {"name": "Bad Name"}, {"name": "x", "role": "boss"}} {
		res, body := admin.do("POST", "/api/admin/agents", bad, nil)
		if res.StatusCode != 400 || strings.Contains(string(body), "--reset") {
			t.Errorf("add %v = %d %s, want 400 without CLI flags", bad, res.StatusCode, body)
		}
	}
	if res, body := admin.do("POST", "/api/admin/agents", map[string]string{"name": "boris"}, nil); !strings.Contains(string(body), `agent \"boris\" already exists; reset its password instead`) {
		t.Errorf("add a taken name = %d %s, want the console's way to reset", res.StatusCode, body)
	}

	admin.call("POST", "/api/admin/agents/anna/role", map[string]string{"role": "lead"}, 200, nil)
	if a, _ := e.db.Agent("anna"); a.Role != "lead" {
		t.Errorf("anna's role %q after the change", a.Role)
	}
	admin.call("POST", "/api/admin/agents/anna/role", map[string]string{"role": "owner"}, 400, nil)
	admin.call("POST", "/api/admin/agents/root/role", map[string]string{"role": "agent"}, 409, nil)

	// A reset signs the agent out and gives a new one-time password.
	anna := newClient(t, srv)
	anna.login("anna")
	var reset struct{ Password string }
	admin.call("POST", "/api/admin/agents/anna/password", map[string]string{}, 200, &reset)
	if res, _ := anna.do("GET", "/api/me", nil, nil); res.StatusCode != 401 {
		t.Errorf("anna still signed in after a reset: %d", res.StatusCode)
	}
	if a, _ := e.db.Agent("anna"); !a.PasswordOneTime || !passwordMatches(a.PasswordHash, reset.Password) {
		t.Error("the reset password is not the stored one-time password")
	}

	// Removal: refused while the agent holds a ticket, then done.
	cust := e.contact("telegram:5", "Olga", "ru")
	tk, _ := e.escalate(cust, "requested", "")
	if _, err := e.svc.Claim(t.Context(), e.agent("dima", RoleAgent), tk.ID); err != nil {
		t.Fatal(err)
	}
	res, body := admin.do("DELETE", "/api/admin/agents/dima", nil, nil)
	if res.StatusCode != 409 || !strings.Contains(string(body), "reassign") {
		t.Errorf("removing an agent with a ticket = %d %s", res.StatusCode, body)
	}
	admin.call("DELETE", "/api/admin/agents/lena", nil, 200, nil)
	if _, err := e.db.Agent("lena"); err == nil {
		t.Error("lena is still there")
	}
	admin.call("DELETE", "/api/admin/agents/lena", nil, 404, nil)
	admin.call("DELETE", "/api/admin/agents/root", nil, 409, nil)

	var list struct{ Agents []adminAgentJSON }
	admin.call("GET", "/api/admin/agents", nil, 200, &list)
	var names []string
	for _, a := range list.Agents {
		names = append(names, a.ID+":"+a.Role)
	}
	if got := strings.Join(names, " "); got != "anna:lead boris:lead dima:agent root:admin" {
		t.Errorf("agents %s", got)
	}

	var audit []string
	for _, ev := range e.events() {
		if strings.HasPrefix(ev, "agent.") {
			audit = append(audit, ev)
		}
	}
	if got := strings.Join(audit, " "); got != "agent.added agent.role agent.password_reset agent.removed" {
		t.Errorf("audit events %q", got)
	}
}
