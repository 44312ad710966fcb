package flows_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/parley-chat/parley/flows"
)

// httpProject is a project with one http node: the customer's message is
// saved as vars.a and the node calls url with headers.
func httpProject(t *testing.T, extra, url, headers string) *flows.Project {
	t.Helper()
	return compile(t, map[string]string{
		"parley.yaml": "name: h\nstart: main\nallowed_hosts: [127.0.0.1, 127.0.0.2, localhost]\nescalation: {negative: \"off\", requested: \"off\"}\n" + extra,
		"flows/main.yaml": `flow: main
start: ask
nodes:
  ask:
    ask: "?"
    save: a
    next: call
  call:
    http:
      url: "` + url + `"` + headers + `
      save: {got: response.body}
    on_error: failed
    next: done
  done:
    say: "ok"
  failed:
    say: "failed"
`})
}

// recorder is a JSON endpoint that keeps the requests it got.
type recorder struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, r)
	rc.mu.Unlock()
	if r.URL.Path == "/fail" {
		http.Error(w, "boom", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"ok":true}`)
}

func (rc *recorder) last(t *testing.T) *http.Request {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.reqs) == 0 {
		t.Fatal("the endpoint got no request")
	}
	return rc.reqs[len(rc.reqs)-1]
}

// TestHTTPURLEscapesCustomerText: customer text in a URL stays one path
// segment and one query value; it adds no parameter and no path step.
func TestHTTPURLEscapesCustomerText(t *testing.T) {
	rc := &recorder{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	p := httpProject(t, "settings: {api: \""+srv.URL+"\"}\n", "{{ settings.api }}/addr/{{ vars.a }}?q={{ vars.a }}&x=1", "")
	e := p.NewEngine(flows.Options{HTTP: srv.Client()})
	const addr = "Тверская 10 & кв=5/../admin#top"
	said, errs := talk(t, e, "hi", addr)
	if len(errs) > 0 || len(said) != 1 || said[0] != "ok" {
		t.Fatalf("said %q, errors %q", said, errs)
	}
	r := rc.last(t)
	if r.URL.Path != "/addr/"+addr[:strings.Index(addr, "#")]+"#top" {
		t.Errorf("path %q: want the whole text as one segment", r.URL.Path)
	}
	q := r.URL.Query()
	if len(q) != 2 || q.Get("q") != addr || q.Get("x") != "1" {
		t.Errorf("query %q: want q=%q and x=1 only", r.URL.RawQuery, addr)
	}
}

// TestHTTPSecret: a secret goes into the request and nowhere else: not in
// the outputs, the state, or the error event of a failed call, and neither
// does the query string.
func TestHTTPSecret(t *testing.T) {
	rc := &recorder{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	const token = "s3cr3t-t0ken/+="
	p := httpProject(t, "settings: {api: \""+srv.URL+"\"}\nsecrets: [orders_token]\n",
		"{{ settings.api }}/{{ vars.a }}?key={{ secret.orders_token }}&order=42",
		"\n      headers: {Authorization: \"Bearer {{ secret.orders_token }}\"}")
	e := p.NewEngine(flows.Options{HTTP: srv.Client(), Secrets: map[string]string{"orders_token": token, "other": "x"}})
	for _, path := range []string{"ok", "fail"} {
		st, outs := steps(t, e, "hi", path)
		r := rc.last(t)
		if got := r.Header.Get("Authorization"); got != "Bearer "+token {
			t.Errorf("%s: Authorization %q", path, got)
		}
		if got := r.URL.Query().Get("key"); got != token {
			t.Errorf("%s: key %q", path, got)
		}
		all, _ := json.Marshal(struct {
			S any
			O any
		}{st, outs})
		for _, leak := range []string{token, url.QueryEscape(token), "order=42"} {
			if strings.Contains(string(all), leak) {
				t.Errorf("%s: %q is in the outputs or the state: %s", path, leak, all)
			}
		}
		if path == "fail" && !strings.Contains(string(all), `server error 500`) {
			t.Errorf("fail: no error event: %s", all)
		}
	}
}

// steps runs msgs from a new conversation and returns the last state and
// outputs.
func steps(t *testing.T, e *flows.Engine, msgs ...string) (flows.State, []flows.Output) {
	t.Helper()
	var st flows.State
	var outs []flows.Output
	for _, m := range msgs {
		var err error
		st, outs, err = e.Step(t.Context(), st, flows.Input{Text: m, Channel: "web"})
		if err != nil {
			t.Fatal(err)
		}
	}
	return st, outs
}

// TestSecretErrors: a secret outside an http node's url, headers and body,
// or one parley.yaml does not declare, is a load error with its position;
// a declared secret without a value fails the call by name.
func TestSecretErrors(t *testing.T) {
	flow := func(node string) map[string]string {
		return map[string]string{
			"parley.yaml":     "name: h\nstart: main\nsecrets: [orders_token]\nallowed_hosts: [x.example.com]\n",
			"flows/main.yaml": "flow: main\nstart: n\nnodes:\n  n:\n" + node,
		}
	}
	for _, c := range []struct{ node, want string }{
		{"    say: \"{{ secret.orders_token }}\"\n", "flows/main.yaml:5:21: nodes.n.say: secret can only be used in an http node's url, headers or body"},
		{"    set: {v: secret.orders_token}\n", "flows/main.yaml:5:21: nodes.n.set.v: secret can only be used"},
		{"    http: {url: \"https://x.example.com/{{ secret.nope }}\", save: {v: secret.orders_token}}\n    on_error: n\n",
			"secret.nope is not declared in parley.yaml's secrets"},
		{"    http: {url: \"https://x.example.com/\", save: {v: secret.orders_token}}\n    on_error: n\n",
			"nodes.n.http.save.v: secret can only be used"},
	} {
		src := flows.Source{}
		for k, v := range flow(c.node) {
			src[k] = []byte(v)
		}
		_, err := flows.Compile(src)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.node, err, c.want)
		}
	}
	bad := flows.Source{"parley.yaml": []byte("name: h\nstart: main\nsecrets: [Orders-Token]\n"),
		"flows/main.yaml": []byte("flow: main\nstart: n\nnodes:\n  n: {say: hi}\n")}
	if _, err := flows.Compile(bad); err == nil || !strings.Contains(err.Error(), "parley.yaml:3:11: secrets: want a secret name") {
		t.Errorf("bad name: %v", err)
	}

	p := httpProject(t, "secrets: [orders_token]\n", "http://127.0.0.1:1/{{ secret.orders_token }}", "")
	if got := p.MissingSecrets(nil); len(got) != 1 || got[0] != "orders_token" {
		t.Errorf("MissingSecrets = %q", got)
	}
	_, errs := talk(t, p.NewEngine(flows.Options{HTTP: http.DefaultClient}), "hi", "x")
	if len(errs) != 1 || !strings.Contains(errs[0], "secrets without a value: orders_token") {
		t.Errorf("errors %q", errs)
	}
}

func TestReadSecrets(t *testing.T) {
	file := filepath.Join(t.TempDir(), "secrets")
	if err := os.WriteFile(file, []byte("# comment\norders_token = from-file\n\nCRM_KEY=a=b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := flows.ReadSecrets(file, []string{"PARLEY_SECRET_ORDERS_TOKEN=from-env", "HOME=/root", "PARLEY_SECRET_=x"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["orders_token"] != "from-env" || got["crm_key"] != "a=b" {
		t.Errorf("got %q", got)
	}
	if err := os.WriteFile(file, []byte("ok=1\nno value here\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := flows.ReadSecrets(file, nil); err == nil || !strings.Contains(err.Error(), file+":2:") || strings.Contains(err.Error(), "no value") {
		t.Errorf("bad line: %v", err)
	}
}

// TestHTTPErrorHasNoQuery: a failed call's error names the URL without its
// query string, which often carries keys or customer data.
func TestHTTPErrorHasNoQuery(t *testing.T) {
	p := httpProject(t, "", "http://127.0.0.1:1/orders?phone={{ vars.a }}", "")
	_, errs := talk(t, p.NewEngine(flows.Options{HTTP: http.DefaultClient}), "hi", "+79991234567")
	if len(errs) != 1 || strings.Contains(errs[0], "7999") || !strings.Contains(errs[0], "http://127.0.0.1:1/orders?…") {
		t.Errorf("errors %q", errs)
	}
}

func TestDialGuard(t *testing.T) {
	guard := flows.DialGuard([]netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")})
	for addr, ok := range map[string]bool{
		"127.0.0.1:80": false, "[::1]:80": false, "10.0.0.1:80": false, "192.168.1.1:443": false,
		"172.16.0.1:80": false, "169.254.169.254:80": false, "[fe80::1]:80": false, "0.0.0.0:80": false,
		"[::]:80": false, "100.64.0.1:80": false, "[::ffff:127.0.0.1]:80": false, "[fd00::1]:80": false,
		"0.1.2.3:80": false, "224.0.0.1:80": false,
		"10.1.2.3:80": true, "8.8.8.8:443": true, "[2001:4860:4860::8888]:443": true,
	} {
		err := guard("tcp", addr, nil)
		if (err == nil) != ok {
			t.Errorf("%s: %v, want allowed=%v", addr, err, ok)
		}
		if err != nil && !errors.Is(err, flows.ErrAddressNotAllowed) {
			t.Errorf("%s: %v is not ErrAddressNotAllowed", addr, err)
		}
	}
}

// TestHTTPGuardedTransport: an allowed name that resolves to loopback is
// refused after resolution, also at the end of a redirect from an allowed
// address; an allowed network opens it.
func TestHTTPGuardedTransport(t *testing.T) {
	rc := &recorder{}
	inner := httptest.NewServer(rc) // 127.0.0.1
	defer inner.Close()
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2 here: %v", err)
	}
	outer := httptest.NewUnstartedServer(http.RedirectHandler(inner.URL+"/x", http.StatusFound))
	outer.Listener.Close()
	outer.Listener = ln
	outer.Start()
	defer outer.Close()
	_, port, _ := net.SplitHostPort(inner.Listener.Addr().String())

	engine := func(url string, allow ...string) *flows.Engine {
		nets, err := flows.ParseNetworks(allow)
		if err != nil {
			t.Fatal(err)
		}
		p := httpProject(t, "settings: {api: \""+url+"\"}\n", "{{ settings.api }}/orders", "")
		return p.NewEngine(flows.Options{HTTP: &http.Client{Transport: flows.GuardedTransport(nets)}})
	}
	_, errs := talk(t, engine("http://localhost:"+port), "hi", "x")
	if len(errs) != 1 || !strings.Contains(errs[0], "is a loopback address") {
		t.Errorf("localhost: errors %q", errs)
	}
	_, errs = talk(t, engine(outer.URL, "127.0.0.2"), "hi", "x")
	if len(errs) != 1 || !strings.Contains(errs[0], "127.0.0.1 is a loopback address") {
		t.Errorf("redirect to loopback: errors %q", errs)
	}
	said, errs := talk(t, engine(outer.URL, "127.0.0.0/8"), "hi", "x")
	if len(errs) != 0 || len(said) != 1 || said[0] != "ok" {
		t.Errorf("allowed network: said %q, errors %q", said, errs)
	}
	if _, err := flows.ParseNetworks([]string{"10.0.0.0/8", "nonsense"}); err == nil || !strings.Contains(err.Error(), `"nonsense"`) {
		t.Errorf("ParseNetworks: %v", err)
	}
}
