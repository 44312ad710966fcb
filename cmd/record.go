package cmd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/flows/flowtest"
)

// recorder keeps a `parley chat` conversation as a conversation test
// (docs/flows.md, "Conversation tests"): each customer line as a user or
// tap turn with what the flow said, its handoff and its end, plus canned
// answers for the http calls the flow made. It writes tests/*.yaml text.
type recorder struct {
	mu      sync.Mutex
	channel string
	name    string
	lang    string
	turns   []recTurn
	calls   []recCall
	seen    map[string]bool // method+" "+url already canned
	// stopped is set after a handoff: the test hands the conversation back
	// to the bot at once while chat leaves it in the human queue, so later
	// lines would not replay the same way.
	stopped bool
}

type recTurn struct {
	user, tap string
	says      []flows.Output
	handoff   *flows.HandoffRequest
	end       bool
}

type recCall struct {
	method, url string
	status      int
	body        []byte
}

// line starts a turn for a customer line; tap is the label of the button
// it answered ("" for typed text). False once the recording has stopped.
func (r *recorder) line(text, tap string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return false
	}
	t := recTurn{user: text}
	if tap != "" {
		t = recTurn{tap: tap}
	}
	r.turns = append(r.turns, t)
	return true
}

// outputs adds what the flow did in the current turn.
func (r *recorder) outputs(outs []flows.Output) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped || len(r.turns) == 0 {
		return
	}
	t := &r.turns[len(r.turns)-1]
	for _, o := range outs {
		switch o.Kind {
		case flows.Say, flows.LinkCode:
			t.says = append(t.says, o)
		case flows.Handoff:
			t.handoff = o.Handoff
		case flows.End:
			t.end = true
		}
	}
	if t.handoff != nil {
		r.stopped = true
	}
}

// doer wraps the engine's HTTP client so each call's answer is kept.
func (r *recorder) doer(next flows.Doer) flows.Doer {
	return recordingDoer{r: r, next: next}
}

type recordingDoer struct {
	r    *recorder
	next flows.Doer
}

// maxRecordedBody bounds a canned body kept from a real answer.
const maxRecordedBody = 64 << 10

func (d recordingDoer) Do(req *http.Request) (*http.Response, error) {
	res, err := d.next.Do(req)
	if err != nil {
		return res, err // a failed call is not canned: the test would need `fail: true`
	}
	body, rerr := io.ReadAll(io.LimitReader(res.Body, maxRecordedBody+1))
	res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(body))
	if rerr != nil || len(body) > maxRecordedBody {
		return res, rerr
	}
	d.r.mu.Lock()
	defer d.r.mu.Unlock()
	key := req.Method + " " + req.URL.String()
	if d.r.seen == nil {
		d.r.seen = map[string]bool{}
	}
	if !d.r.stopped && !d.r.seen[key] {
		d.r.seen[key] = true
		d.r.calls = append(d.r.calls, recCall{method: req.Method, url: req.URL.String(), status: res.StatusCode, body: body})
	}
	return res, nil
}

// checkRecordFile refuses to overwrite a file: a recording is new work.
func checkRecordFile(path string) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("--record %s: the file exists; choose a new file in the project's tests/ directory", path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("--record: %w", err)
	}
	return nil
}

// write saves the recording to path as a tests file.
func (r *recorder) write(path string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.turns) == 0 {
		return fmt.Errorf("--record %s: nothing was said, no test written", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("--record: %w", err)
	}
	return os.WriteFile(path, []byte(r.yaml()), 0o644)
}

// yaml renders the test. Strings are JSON-quoted (valid YAML double-quoted
// scalars, so no text can break the file) and bodies are JSON (YAML's flow
// style).
func (r *recorder) yaml() string {
	var b strings.Builder
	first := r.turns[0].user
	if first == "" {
		first = r.turns[0].tap
	}
	b.WriteString("# Recorded with `parley chat --record`. Check what the bot should say, rename the test,\n")
	b.WriteString("# and loosen exact texts into `contains:` where the wording may change.\n")
	b.WriteString("tests:\n")
	fmt.Fprintf(&b, "  - name: %s\n", quoteYAML("recorded: "+first))
	if r.channel != "" && r.channel != "web" {
		fmt.Fprintf(&b, "    channel: %s\n", quoteYAML(r.channel))
	}
	if r.name != "" || r.lang != "" {
		b.WriteString("    contact:\n")
		if r.name != "" {
			fmt.Fprintf(&b, "      name: %s\n", quoteYAML(r.name))
		}
		if r.lang != "" {
			fmt.Fprintf(&b, "      lang: %s\n", quoteYAML(r.lang))
		}
	}
	if len(r.calls) > 0 {
		b.WriteString("    http:\n")
		for _, c := range r.calls {
			fmt.Fprintf(&b, "      - url: %s\n        method: %s\n        status: %d\n", quoteYAML(c.url), c.method, c.status)
			if body := bytes.TrimSpace(c.body); len(body) > 0 {
				if !json.Valid(body) {
					body, _ = json.Marshal(string(body)) // the node then reads a JSON string
				}
				var compact bytes.Buffer
				json.Compact(&compact, body)
				fmt.Fprintf(&b, "        body: %s\n", compact.String())
			}
		}
	}
	b.WriteString("    turns:\n")
	for _, t := range r.turns {
		if t.tap != "" {
			fmt.Fprintf(&b, "      - tap: %s\n", quoteYAML(t.tap))
		} else {
			fmt.Fprintf(&b, "      - user: %s\n", quoteYAML(t.user))
		}
		if len(t.says) == 0 {
			b.WriteString("        bot: []\n")
		} else {
			b.WriteString("        bot:\n")
		}
		for _, o := range t.says {
			switch {
			case o.Kind == flows.LinkCode:
				// The code differs per run; tests show the stand-in.
				fmt.Fprintf(&b, "          - contains: %s\n", quoteYAML(flowtest.LinkCode))
			case len(o.Buttons) > 0:
				fmt.Fprintf(&b, "          - text: %s\n            buttons: [", quoteYAML(o.Text))
				for i, btn := range o.Buttons {
					if i > 0 {
						b.WriteString(", ")
					}
					b.WriteString(quoteYAML(btn.Text))
				}
				b.WriteString("]\n")
			default:
				fmt.Fprintf(&b, "          - %s\n", quoteYAML(o.Text))
			}
		}
		if h := t.handoff; h != nil {
			fmt.Fprintf(&b, "        handoff: {reason: %s", quoteYAML(h.Reason))
			if h.Priority != "" {
				fmt.Fprintf(&b, ", priority: %s", quoteYAML(h.Priority))
			}
			b.WriteString("}\n")
		}
		if t.end {
			b.WriteString("        end: true\n")
		}
	}
	return b.String()
}

// quoteYAML writes s as a double-quoted scalar (JSON's quoting is YAML's).
func quoteYAML(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}
