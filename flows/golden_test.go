package flows_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/txtar"

	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/flows/syntax"
)

// update rewrites golden files: PARLEY_UPDATE=1 go test ./flows/...
var update = os.Getenv("PARLEY_UPDATE") != ""

// TestNodeKinds runs one golden conversation per node kind, driven from
// the table of kinds: a kind without testdata/kinds/KIND.txtar fails.
func TestNodeKinds(t *testing.T) {
	for _, k := range syntax.Kinds {
		t.Run(k, func(t *testing.T) {
			path := filepath.Join("testdata", "kinds", k+".txtar")
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("node kind %q has no golden conversation: write %s", k, path)
			}
			runGolden(t, path)
		})
	}
}

// TestEngineGoldens runs the other golden conversations (triggers,
// escalation, numbered choices, limits).
func TestEngineGoldens(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "engine", "*.txtar"))
	if len(files) == 0 {
		t.Fatal("no testdata/engine/*.txtar")
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txtar"), func(t *testing.T) { runGolden(t, f) })
	}
}

// A golden archive holds a project (parley.yaml, flows/*.yaml), an "input"
// file with one customer message per line and a "golden" file with the
// transcript. Input lines: plain text; "tap:VALUE" presses a button;
// "@resume" hands the conversation back from a human; "@timeout" fires
// the wait timer; "@wait DURATION" moves the clock; "@lang CODE" sets the
// contact's language; "@debug" turns Input.Debug on (and off again). "$API" in project files is the URL of a local test
// server. The state goes through JSON before every step.
func runGolden(t *testing.T, path string) {
	ar, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(apiHandler))
	defer srv.Close()
	src := flows.Source{}
	var input string
	for _, f := range ar.Files {
		switch f.Name {
		case "input":
			input = string(f.Data)
		case "golden":
		default:
			src[f.Name] = bytes.ReplaceAll(f.Data, []byte("$API"), []byte(srv.URL))
		}
	}
	p, err := flows.Compile(src)
	if err != nil {
		t.Fatalf("project does not compile:\n%v", err)
	}
	e := p.NewEngine(flows.Options{HTTP: srv.Client(), AllowedHosts: []string{"127.0.0.1"}, MaxSteps: 50})
	ctx := context.Background()
	now := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	contact := flows.Contact{ID: "c1", Name: "Анна", Fields: map[string]string{"city": "Москва"}}
	var st flows.State
	var b strings.Builder
	debug := false
	for _, line := range strings.Split(strings.TrimRight(input, "\n"), "\n") {
		fmt.Fprintf(&b, "> %s\n", line)
		st = roundTrip(t, st)
		in := flows.Input{Text: line, Channel: "telegram", Now: now, Contact: contact, Debug: debug}
		var outs []flows.Output
		switch {
		case line == "@debug":
			debug = !debug
			continue
		case strings.HasPrefix(line, "@lang "):
			contact.Lang = strings.TrimPrefix(line, "@lang ")
			continue
		case strings.HasPrefix(line, "@wait "):
			d, err := time.ParseDuration(strings.TrimPrefix(line, "@wait "))
			if err != nil {
				t.Fatal(err)
			}
			now = now.Add(d)
			continue
		case line == "@resume":
			in.Text = ""
			st, outs, err = e.Resume(ctx, st, in)
		case line == "@timeout":
			in.Text = ""
			st, outs, err = e.Timeout(ctx, st, in)
		case strings.HasPrefix(line, "tap:"):
			in.Payload = strings.TrimPrefix(line, "tap:")
			in.Text = in.Payload
			st, outs, err = e.Step(ctx, st, in)
		default:
			st, outs, err = e.Step(ctx, st, in)
		}
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		for _, o := range outs {
			if o.Kind == flows.SetContact {
				for k, v := range o.Fields {
					if contact.Fields == nil {
						contact.Fields = map[string]string{}
					}
					contact.Fields[k] = v
				}
			}
			b.WriteString(formatOutput(o, srv.URL))
		}
		b.WriteString(formatState(st, p.Version))
		now = now.Add(time.Minute)
	}
	got := b.String()
	var want string
	for _, f := range ar.Files {
		if f.Name == "golden" {
			want = string(f.Data)
		}
	}
	if update {
		var files []txtar.File
		for _, f := range ar.Files {
			if f.Name != "golden" {
				files = append(files, f)
			}
		}
		ar.Files = append(files, txtar.File{Name: "golden", Data: []byte(got)})
		if err := os.WriteFile(path, txtar.Format(ar), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if want == "" {
		t.Fatalf("%s has no golden section; run with PARLEY_UPDATE=1 and review it:\n%s", path, got)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s: transcript differs (-want +got); PARLEY_UPDATE=1 rewrites it:\n%s", path, diff)
	}
}

func roundTrip(t *testing.T, st flows.State) flows.State {
	t.Helper()
	b, err := flows.MarshalState(st)
	if err != nil {
		t.Fatal(err)
	}
	back, err := flows.UnmarshalState(b)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

func formatOutput(o flows.Output, api string) string {
	var b strings.Builder
	switch o.Kind {
	case flows.Say:
		fmt.Fprintf(&b, "  say %q", o.Text)
		for _, btn := range o.Buttons {
			fmt.Fprintf(&b, " [%s=%s]", btn.Text, btn.Value)
		}
		if o.Image != "" {
			fmt.Fprintf(&b, " image=%s", o.Image)
		}
	case flows.Handoff:
		h := o.Handoff
		fmt.Fprintf(&b, "  handoff reason=%s priority=%s", h.Reason, h.Priority)
		if h.Note != "" {
			fmt.Fprintf(&b, " note=%q", h.Note)
		}
		if len(h.Evidence) > 0 {
			fmt.Fprintf(&b, " evidence=%q", h.Evidence)
		}
		fmt.Fprintf(&b, " resume=%s vars=%s", h.ResumeNode, sortedMap(h.Vars))
	case flows.SetContact:
		fmt.Fprintf(&b, "  set_contact %s", sortedMap(o.Fields))
	case flows.Event:
		ev := o.Event
		fmt.Fprintf(&b, "  event %s", ev.Name)
		if ev.Flow != "" {
			fmt.Fprintf(&b, " %s.%s", ev.Flow, ev.Node)
		}
		if len(ev.Data) > 0 {
			fmt.Fprintf(&b, " %s", strings.ReplaceAll(sortedMap(ev.Data), api, "$API"))
		}
	case flows.End:
		b.WriteString("  end")
	case flows.Debug:
		// Scores are the classifier's and the scorer's to tune: the golden
		// holds what the trace says, not the figures.
		tr := scoreRE.ReplaceAllString(o.Trace.String(), "#")
		tr = becauseRE.ReplaceAllString(tr, "because: ...")
		b.WriteString("  debug\n    " + strings.ReplaceAll(tr, "\n", "\n    "))
	case flows.LinkCode:
		l := o.Link
		fmt.Fprintf(&b, "  link lang=%s zone=%s %q", l.Lang, l.Zone, l.Template())
		// As the runtime would send it, with a code issued at 10:00 UTC for 10 minutes.
		fmt.Fprintf(&b, "\n    filled %q", l.Fill("TEST-2345", 10*time.Minute, time.Date(2026, 1, 5, 10, 10, 0, 0, time.UTC)))
	}
	b.WriteByte('\n')
	return b.String()
}

var (
	scoreRE   = regexp.MustCompile(`-?\d+\.\d\d`)
	becauseRE = regexp.MustCompile(`(?m)because: .*$`)
)

func formatState(st flows.State, version string) string {
	if st.Version == version {
		st.Version = "current"
	}
	j, _ := json.Marshal(st)
	return "  state " + string(j) + "\n"
}

func sortedMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%q", k, m[k]))
	}
	return "{" + strings.Join(parts, " ") + "}"
}

// apiHandler is the order service of the http goldens.
func apiHandler(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/orders/1":
		io.WriteString(w, `{"status":"in_transit","items":[{"sku":"A1","qty":2}],"total":1990.5}`)
	case "/orders/404":
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"error":"not found"}`)
	case "/orders/500":
		w.WriteHeader(http.StatusInternalServerError)
	case "/notjson":
		io.WriteString(w, `<html>`)
	case "/slow":
		time.Sleep(500 * time.Millisecond)
		io.WriteString(w, `{}`)
	case "/redirect":
		http.Redirect(w, r, "http://evil.example.com/steal", http.StatusFound)
	case "/html404":
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, "<html>not found</html>")
	case "/big":
		io.WriteString(w, `{"items":"`+strings.Repeat("x", 20000)+`"}`)
	case "/echo":
		body, _ := io.ReadAll(r.Body)
		var v any
		_ = json.Unmarshal(body, &v)
		json.NewEncoder(w).Encode(map[string]any{"method": r.Method, "token": r.Header.Get("X-Token"), "body": v})
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}
