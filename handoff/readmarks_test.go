package handoff

import (
	"context"
	"testing"
	"time"
)

// Read marks: the agent holding a ticket reading it stamps AgentReadAt
// (the wait state carries it to the web chat); a lead looking on does not;
// the customer seeing the replies stamps CustomerSeenAt, shown in the
// ticket's JSON.
func TestReadMarks(t *testing.T) {
	e := newEnv(t, Config{})
	srv := e.server()
	anna := e.agent("anna", RoleAgent)
	e.agent("lena", RoleLead)
	ctx := context.Background()
	olga := e.contact("web:v_olga", "Ольга", "ru")
	tk, _ := e.escalate(olga, "requested", "")

	// Nobody holds the ticket yet: seeing or reading marks nothing.
	e.svc.CustomerSeen(ctx, olga.ID)
	if got := e.ticket(tk.ID); !got.CustomerSeenAt.IsZero() {
		t.Errorf("a queued ticket got a seen mark %v", got.CustomerSeenAt)
	}
	if _, err := e.svc.Claim(ctx, anna, tk.ID); err != nil {
		t.Fatal(err)
	}
	lead := newClient(t, srv)
	lead.login("lena")
	lead.call("POST", "/api/tickets/"+itoa(tk.ID)+"/read", nil, 204, nil)
	if got := e.ticket(tk.ID); !got.AgentReadAt.IsZero() {
		t.Errorf("a lead's look marked the ticket read at %v", got.AgentReadAt)
	}

	e.clock.Advance(time.Minute)
	c := newClient(t, srv)
	c.login("anna")
	c.call("POST", "/api/tickets/"+itoa(tk.ID)+"/read", nil, 204, nil)
	read := e.ticket(tk.ID).AgentReadAt
	if !read.Equal(e.clock.Now()) {
		t.Errorf("AgentReadAt = %v, want %v", read, e.clock.Now())
	}
	ws, err := e.svc.WaitStateFor(olga.ID)
	if err != nil || ws.State != WaitAgent || !ws.ReadAt.Equal(read) {
		t.Errorf("wait state = %+v, %v; want the agent state with ReadAt %v", ws, err, read)
	}

	e.clock.Advance(time.Minute)
	e.svc.CustomerSeen(ctx, olga.ID)
	var got ticketJSON
	c.call("GET", "/api/tickets/"+itoa(tk.ID), nil, 200, &got)
	if got.CustomerSeenAt == nil || !got.CustomerSeenAt.Equal(e.clock.Now()) || got.AgentReadAt == nil {
		t.Errorf("ticket JSON read marks: read %v, seen %v", got.AgentReadAt, got.CustomerSeenAt)
	}
}
