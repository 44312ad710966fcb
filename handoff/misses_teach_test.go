package handoff

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/handoff/analytics"
	"github.com/parley-chat/parley/store"
)

// wordTeacher stands in for cmd's projectTeacher, which edits a project
// on disk (tested end to end in cmd): its "knowledge base" is a word list
// per entry, and a message is understood when it holds a taught word.
type wordTeacher struct {
	mu      sync.Mutex
	words   map[string][]string // entry -> texts
	got     []TeachRequest
	refuse  bool
	version int
}

func (w *wordTeacher) KnowledgeBase() (KnowledgeBase, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	kb := KnowledgeBase{Editable: true, Languages: []string{"ru", "en"}}
	for id, ex := range w.words {
		kb.Items = append(kb.Items, KBItem{Kind: "faq", ID: id, Examples: map[string][]string{"ru": ex}, Count: len(ex)})
	}
	return kb, nil
}

func (w *wordTeacher) Teach(_ context.Context, req TeachRequest) (TeachResult, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.got = append(w.got, req)
	if w.refuse {
		return TeachResult{}, &TeachRefused{Msg: "the change fails `parley lint` and was not saved", Problems: []string{"faq.yaml:3:9: duplicate example"}}
	}
	if req.Target == nil {
		return TeachResult{}, &TeachRefused{Msg: "this stand-in adds to existing entries only"}
	}
	w.words[req.Target.ID] = append(w.words[req.Target.ID], req.Text)
	w.version++
	return TeachResult{File: "faq.yaml", Version: strings.Repeat("v", w.version)}, nil
}

func (w *wordTeacher) Understand(text string) analytics.Recheck {
	w.mu.Lock()
	defer w.mu.Unlock()
	for id, ex := range w.words {
		if slices.Contains(ex, text) {
			return analytics.Recheck{Kind: "faq", ID: id, Score: 1, Answered: true}
		}
	}
	return analytics.Recheck{Kind: "none"}
}

// POST /api/misses/teach and GET /api/misses/kb: leads and admins only,
// with the CSRF token; without a teacher (a server that cannot write its
// project) the inbox says so; a change lint refuses comes back as 422
// with lint's problems; a change made is audited and the inbox then shows
// the group's message as answered.
func TestMissesTeachAPI(t *testing.T) {
	e := newEnv(t, Config{})
	srv := e.server()
	e.agent("anna", RoleAgent)
	e.agent("lena", RoleLead)
	c := e.contact("web:a", "A", "ru")
	now := e.clock.Now()
	_, err := e.db.Commit(context.Background(), store.Turn{ContactID: c.ID,
		Messages: []store.Message{{Dir: store.DirIn, Address: c.Identities[0], Channel: "web", Text: "упакуете в подарок?", Sender: "customer", At: now}},
		Events: []store.Event{{At: now, ContactID: c.ID, Type: "message_in"},
			{At: now, ContactID: c.ID, Type: "understood", Data: map[string]string{"kind": "none", "oos": "1", "lang": "ru"}}}})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)

	add := TeachRequest{Text: "упакуете в подарок?", Lang: "ru", Target: &TeachTarget{Kind: "faq", ID: "gift"}, Texts: []string{"упакуете в подарок?"}}
	agent := newClient(t, srv)
	agent.login("anna")
	for _, r := range []struct {
		method, path string
		body         any
	}{{"GET", "/api/misses/kb", nil}, {"POST", "/api/misses/teach", add}} {
		if res, body := agent.do(r.method, r.path, r.body, nil); res.StatusCode != 403 || !strings.Contains(string(body), "leads and admins") {
			t.Errorf("agent %s %s = %d %s, want 403", r.method, r.path, res.StatusCode, body)
		}
	}

	lead := newClient(t, srv)
	lead.login("lena")
	var kb KnowledgeBase
	lead.call("GET", "/api/misses/kb", nil, 200, &kb)
	if kb.Editable || !strings.Contains(kb.Why, "--flows DIR") {
		t.Errorf("kb without a teacher: %+v", kb)
	}
	if res, body := lead.do("POST", "/api/misses/teach", add, nil); res.StatusCode != 409 || !strings.Contains(string(body), "--flows DIR") {
		t.Errorf("teach without a teacher = %d %s, want 409", res.StatusCode, body)
	}

	w := &wordTeacher{words: map[string][]string{"gift": {"подарочная упаковка"}}}
	e.svc.SetTeacher(w)
	lead.call("GET", "/api/misses/kb", nil, 200, &kb)
	if !kb.Editable || len(kb.Items) != 1 || kb.Items[0].ID != "gift" {
		t.Errorf("kb: %+v", kb)
	}
	var rep analytics.MissReport
	lead.call("GET", "/api/misses", nil, 200, &rep)
	if len(rep.Groups) != 1 || len(rep.Groups[0].Now) != 1 || rep.Groups[0].Now[0].Answered || rep.Groups[0].Langs["ru"] != 1 {
		t.Fatalf("inbox before teaching: %+v", rep)
	}

	// Without the CSRF token nothing reaches the teacher.
	if res, _ := lead.do("POST", "/api/misses/teach", add, map[string]string{csrfHeader: "wrong"}); res.StatusCode != 403 {
		t.Errorf("teach with a wrong CSRF token = %d, want 403", res.StatusCode)
	}
	for _, bad := range []TeachRequest{{Text: "x", Lang: "ru"}, {Lang: "ru", Target: &TeachTarget{Kind: "faq", ID: "gift"}},
		{Text: "x", Target: &TeachTarget{Kind: "faq", ID: "gift"}, New: &NewFAQEntry{ID: "x"}}} {
		if res, body := lead.do("POST", "/api/misses/teach", bad, nil); res.StatusCode != 400 {
			t.Errorf("teach %+v = %d %s, want 400", bad, res.StatusCode, body)
		}
	}
	if len(w.got) != 0 {
		t.Fatalf("refused requests reached the teacher: %+v", w.got)
	}

	w.refuse = true
	var refused struct {
		Error    string
		Problems []string
	}
	lead.call("POST", "/api/misses/teach", add, 422, &refused)
	if !strings.Contains(refused.Error, "fails `parley lint`") || len(refused.Problems) != 1 || !strings.Contains(refused.Problems[0], "faq.yaml:3:9") {
		t.Errorf("refused: %+v", refused)
	}
	w.refuse = false
	var res TeachResult
	lead.call("POST", "/api/misses/teach", add, 200, &res)
	if res.File != "faq.yaml" || res.Version != "v" || len(res.Now) != 1 || !res.Now[0].Answered || res.Now[0].ID != "gift" || res.Now[0].Text != add.Text {
		t.Errorf("teach: %+v", res)
	}
	lead.call("GET", "/api/misses", nil, 200, &rep)
	if len(rep.Groups) != 1 || !rep.Groups[0].Now[0].Answered || rep.Groups[0].Now[0].ID != "gift" {
		t.Errorf("inbox after teaching: %+v", rep)
	}

	var taught []store.Event
	err = e.db.Events(time.Time{}, e.clock.Now().Add(time.Hour), func(ev store.Event) error {
		if ev.Type == "kb.taught" {
			taught = append(taught, ev)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(taught) != 1 || taught[0].Data["by"] != "lena" || taught[0].Data["id"] != "gift" || taught[0].Data["kind"] != "faq" || taught[0].Data["version"] != "v" {
		t.Errorf("audit: %+v", taught)
	}
	for _, v := range taught[0].Data {
		if strings.Contains(v, "подарок") {
			t.Errorf("the audit keeps the customer's words: %+v", taught[0].Data)
		}
	}
}
