package flows_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/flows/demo"
)

// orders answers the demo's http node without a network.
type orders struct{}

func (orders) Do(r *http.Request) (*http.Response, error) {
	body := `{"status":"in_transit","eta":"7 января"}`
	if strings.HasSuffix(r.URL.Path, "/404404") {
		return &http.Response{StatusCode: 404, Body: io.NopCloser(strings.NewReader(`{}`))}, nil
	}
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(body))}, nil
}

var demoScript = []flows.Input{
	{Text: "привет"}, {Text: "Где мой заказ?", Payload: "order_status"}, {Text: "12"}, {Text: "1234567"},
	{Text: "2"}, {Text: "хочу вернуть товар"}, {Text: "абракадабра"}, {Text: "оплата"},
	{Text: "заказ"}, {Text: "404404"}, {Text: "1"}, {Text: "7654321"}, {Text: "/start"}, {Text: "оператор"},
}

func loadDemo(t testing.TB) *flows.Project {
	t.Helper()
	p, err := flows.LoadFS(demo.FS())
	if err != nil {
		t.Fatalf("demo: %v", err)
	}
	return p
}

// TestStateJSONRoundTrip runs the same conversation twice: once keeping
// the State in memory, once storing it as JSON between every message (as
// the runtime does). Outputs and states must be identical.
func TestStateJSONRoundTrip(t *testing.T) {
	p := loadDemo(t)
	e := p.NewEngine(flows.Options{HTTP: orders{}})
	ctx := context.Background()
	var mem, stored flows.State
	for i, in := range demoScript {
		in.Now = time.Date(2026, 1, 5, 10, i, 0, 0, time.UTC)
		in.Contact = flows.Contact{ID: "c", Name: "Анна"}
		var outMem, outStored []flows.Output
		var err error
		mem, outMem, err = e.Step(ctx, mem, in)
		if err != nil {
			t.Fatal(err)
		}
		b, err := flows.MarshalState(stored)
		if err != nil {
			t.Fatal(err)
		}
		if stored, err = flows.UnmarshalState(b); err != nil {
			t.Fatal(err)
		}
		stored, outStored, err = e.Step(ctx, stored, in)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(outMem, outStored); diff != "" {
			t.Fatalf("turn %d (%q): outputs differ after a JSON round trip (-memory +stored):\n%s", i, in.Text, diff)
		}
		bm, _ := flows.MarshalState(mem)
		bs, _ := flows.MarshalState(stored)
		if string(bm) != string(bs) {
			t.Fatalf("turn %d: states differ:\n%s\n%s", i, bm, bs)
		}
	}
	if len(mem.Vars) == 0 {
		t.Fatal("the script should have set variables")
	}
}

// TestStepDoesNotMutateInput checks purity: the State passed in is left as
// it was, so a failed commit can retry with the old state.
func TestStepDoesNotMutateInput(t *testing.T) {
	p := loadDemo(t)
	e := p.NewEngine(flows.Options{HTTP: orders{}})
	ctx := context.Background()
	var st flows.State
	for _, in := range demoScript[:4] {
		before, _ := flows.MarshalState(st)
		next, _, err := e.Step(ctx, st, in)
		if err != nil {
			t.Fatal(err)
		}
		after, _ := flows.MarshalState(st)
		if string(before) != string(after) {
			t.Fatalf("Step mutated its input state:\nbefore %s\nafter  %s", before, after)
		}
		st = next
	}
}

// TestConcurrentSteps runs many conversations on one engine at once (run
// with -race).
func TestConcurrentSteps(t *testing.T) {
	p := loadDemo(t)
	e := p.NewEngine(flows.Options{HTTP: orders{}})
	var wg sync.WaitGroup
	results := make([]string, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var st flows.State
			var last []flows.Output
			for _, in := range demoScript {
				var err error
				st, last, err = e.Step(context.Background(), st, in)
				if err != nil {
					t.Error(err)
					return
				}
			}
			results[g] = fmt.Sprintf("%s %+v", says(last), findHandoff(last))
		}()
	}
	wg.Wait()
	for _, r := range results[1:] {
		if r != results[0] {
			t.Fatalf("conversations diverged:\n%s\n%s", results[0], r)
		}
	}
}

func compile(t *testing.T, files map[string]string) *flows.Project {
	t.Helper()
	src := flows.Source{}
	for k, v := range files {
		src[k] = []byte(v)
	}
	p, err := flows.Compile(src)
	if err != nil {
		t.Fatalf("compile:\n%v", err)
	}
	return p
}

const migProject = "name: m\nstart: main\nsafe_node: main.menu\n"

const migV1 = `flow: main
start: hello
nodes:
  hello:
    say: Hi
    next: menu
  menu:
    ask: "menu?"
    next: name
  name:
    ask: "name?"
    save: name
    next: bye
  bye:
    say: "Bye {{ vars.name }}"
`

// In v2 "name" is renamed "your_name": sessions waiting there are moved.
const migV2 = `flow: main
start: hello
nodes:
  hello:
    say: Hi
    next: menu
  menu:
    ask: "menu v2?"
    next: your_name
  your_name:
    ask: "your name?"
    save: name
    next: bye
  bye:
    say: "Bye {{ vars.name }}"
`

// TestMigration: a reload keeps a session at the same node id when the
// node exists, and moves it to the safe node with an event when it is gone.
func TestMigration(t *testing.T) {
	v1 := compile(t, map[string]string{"parley.yaml": migProject, "flows/main.yaml": migV1})
	v2 := compile(t, map[string]string{"parley.yaml": migProject, "flows/main.yaml": migV2})
	if v1.Version == v2.Version {
		t.Fatal("versions must differ")
	}
	ctx := context.Background()
	e1, e2 := v1.NewEngine(flows.Options{}), v2.NewEngine(flows.Options{})

	step := func(e *flows.Engine, st flows.State, text string) (flows.State, []flows.Output) {
		t.Helper()
		next, outs, err := e.Step(ctx, st, flows.Input{Text: text})
		if err != nil {
			t.Fatal(err)
		}
		return next, outs
	}
	// Node kept: a session waiting at "menu" answers it in v2.
	st, _ := step(e1, flows.State{}, "hi")
	if st.Node != "menu" || !st.Waiting || st.Version != v1.Version {
		t.Fatalf("v1 state: %+v", st)
	}
	if ok, msg := v2.CheckState(st); !ok {
		t.Fatalf("CheckState: node kept, got %q", msg)
	}
	st2, outs := step(e2, st, "x")
	if st2.Node != "your_name" || st2.Version != v2.Version {
		t.Fatalf("node kept: want to continue to your_name, got %+v", st2)
	}
	if ev := findEvent(outs, "migrated"); ev == nil || ev.Data["from"] != v1.Version {
		t.Fatalf("want a migrated event, got %+v", outs)
	}

	// Node gone: a session waiting at "name" goes to the safe node.
	st, _ = step(e1, st, "x")
	if st.Node != "name" {
		t.Fatalf("v1: want to wait at name, got %+v", st)
	}
	ok, msg := v2.CheckState(st)
	if ok || msg != "waits at main.name, which this version removes; it would go to main.menu" {
		t.Fatalf("CheckState: got %v %q", ok, msg)
	}
	st2, outs = step(e2, st, "Олег")
	ev := findEvent(outs, "node_gone")
	if ev == nil || ev.Data["node"] != "main.name" || ev.Data["to"] != "main.menu" {
		t.Fatalf("want a node_gone event, got %+v", outs)
	}
	if st2.Node != "menu" || !st2.Waiting || says(outs) != "menu v2?" {
		t.Fatalf("node gone: want the safe node asked again, got %+v / %q", st2, says(outs))
	}
}

func findEvent(outs []flows.Output, name string) *flows.EventRecord {
	for _, o := range outs {
		if o.Kind == flows.Event && o.Event.Name == name {
			return o.Event
		}
	}
	return nil
}

func says(outs []flows.Output) string {
	var s []string
	for _, o := range outs {
		if o.Kind == flows.Say {
			s = append(s, o.Text)
		}
	}
	return strings.Join(s, " | ")
}

// TestContextCancelled: a cancelled context returns the state unchanged.
func TestContextCancelled(t *testing.T) {
	p := loadDemo(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	st, outs, err := p.NewEngine(flows.Options{}).Step(ctx, flows.State{}, flows.Input{Text: "hi"})
	if err == nil || len(outs) != 0 || st.Flow != "" {
		t.Fatalf("want the context error and nothing done, got %v %v %+v", err, outs, st)
	}
}

func findHandoff(outs []flows.Output) *flows.HandoffRequest {
	for _, o := range outs {
		if o.Kind == flows.Handoff {
			return o.Handoff
		}
	}
	return nil
}

// TestOutputJSON: outputs survive JSON (the runtime may queue them).
func TestOutputJSON(t *testing.T) {
	outs := []flows.Output{
		{Kind: flows.Say, Text: "Привет", Buttons: []flows.Button{{Text: "Да", Value: "yes"}}},
		{Kind: flows.Handoff, Handoff: &flows.HandoffRequest{Reason: "requested", Evidence: []string{"оператор"}}},
		{Kind: flows.Event, Event: &flows.EventRecord{Name: "node", Flow: "main", Node: "menu"}},
		{Kind: flows.End},
	}
	b, err := json.Marshal(outs)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"type":"say"`) {
		t.Fatalf("kinds should be names: %s", b)
	}
	var back []flows.Output
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(outs, back); diff != "" {
		t.Fatal(diff)
	}
}

// TestStepIntoReusedBuffer runs the benchmark conversation three times over
// with one reused Buffer and compares every turn with Step's own: what a
// previous turn left in the buffer must never leak into the next one.
func TestStepIntoReusedBuffer(t *testing.T) {
	p := loadDemo(t)
	e := p.NewEngine(flows.Options{HTTP: orders{}})
	ctx := context.Background()
	now := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	var a, b flows.State
	var buf flows.Buffer
	var script []flows.Input
	for range 3 {
		script = append(script, benchScript...)
	}
	// A long turn first: its outputs outgrow the buffer's arrays.
	script = append([]flows.Input{{Text: "/start"}, {Text: "Где мой заказ?", Payload: "order_status"}, {Text: "1234567"}}, script...)
	for i, in := range script {
		in.Now = now
		in.Contact = flows.Contact{ID: "c1", Name: "Анна"}
		na, want, err := e.Step(ctx, a, in)
		if err != nil {
			t.Fatal(err)
		}
		nb, got, err := e.StepInto(ctx, b, in, &buf)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(na, nb) {
			t.Fatalf("turn %d (%q): StepInto gave\n%+v\nStep gave\n%+v", i, in.Text, got, want)
		}
		if len(got) == 0 {
			t.Fatalf("turn %d (%q): no outputs", i, in.Text)
		}
		a, b = na, nb
	}
}
