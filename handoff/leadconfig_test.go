package handoff

import (
	"context"
	"strings"
	"testing"
)

// SetLeadConfig swaps the lead's settings while the service runs: the next
// escalation gets the new notices and hours, summaries use the project's
// variable labels, and with CSATEvery a resolve with outcome "end" asks
// for the rating. A bad config changes nothing.
func TestSetLeadConfig(t *testing.T) {
	e := newEnv(t, Config{DefaultLang: "ru", CSAT: true})
	srv := e.server()
	ctx := context.Background()
	anna := e.agent("anna", RoleAgent)
	e.online(anna)
	olga := e.contact("telegram:42", "Ольга", "ru")
	tk, notices := e.escalate(olga, "requested", "")
	if len(notices) != 1 || strings.Contains(notices[0].Text, "Закрыто") {
		t.Fatalf("notices before = %+v", notices)
	}
	if !strings.Contains(tk.Summary, "order=1234567") {
		t.Errorf("summary without labels = %q", tk.Summary)
	}

	if err := e.svc.SetLeadConfig(LeadConfig{Canned: []Canned{{ID: "", Text: "x"}}}); err == nil {
		t.Error("a canned reply without an id was accepted")
	}
	closed, err := ParseHours("UTC", []string{"daily 00:00-24:00"}, []string{start.Format("2006-01-02"), start.AddDate(0, 0, 1).Format("2006-01-02")})
	if err != nil {
		t.Fatal(err)
	}
	err = e.svc.SetLeadConfig(LeadConfig{Hours: closed, CSAT: true, CSATEvery: true,
		Texts:     map[string]Texts{"ru": {OutOfHours: "Закрыто, вернёмся {opens}."}},
		VarLabels: map[string]map[string]string{"order": {"ru": "Номер заказа", "en": "Order number"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Claim(ctx, anna, tk.ID); err != nil {
		t.Fatal(err)
	}
	e.rec.reset()
	res, err := e.svc.Resolve(ctx, anna, tk.ID, OutcomeEnd)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != OutcomeCSAT {
		t.Errorf("with CSATEvery the outcome is %q, want csat", res.Outcome)
	}
	if got := e.rec.texts(); len(got) != 1 || got[0] != DefaultTexts["ru"].CSATQuestion {
		t.Errorf("sent %q, want the rating question", got)
	}

	// A console reads the new settings from /api/me.
	c := newClient(t, srv)
	if me := c.login("anna"); !me.CSATEvery || me.VarLabels["order"]["ru"] != "Номер заказа" {
		t.Errorf("me = csat_every %v, var_labels %v", me.CSATEvery, me.VarLabels)
	}

	pyotr := e.contact("vk:7", "Пётр", "ru")
	tk2, notices := e.escalate(pyotr, "requested", "")
	if len(notices) != 1 || !strings.HasPrefix(notices[0].Text, "Закрыто, вернёмся") {
		t.Errorf("notices after = %+v, want the new out-of-hours text", notices)
	}
	if !strings.Contains(tk2.Summary, "Номер заказа: 1234567") {
		t.Errorf("summary = %q, want the project's label", tk2.Summary)
	}
}
