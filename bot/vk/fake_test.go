package vk

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// call is one request the adapter must make to the fake VK, in order, and
// the canned answer it gets. The test asserts the exact list of requests and
// so that every canned answer was used.
type call struct {
	Method string            // "messages.send", or "a_check" for the long poll server
	Params map[string]string // form (API) or query (long poll) parameters
	Auth   bool              // set by the fake: the Authorization header carried the token

	status      int    // default 200
	body        string // "{{server}}" is replaced with the long poll server URL
	contentType string // default application/json
	hangup      bool   // close the connection without answering
}

// fakeVK is a VK API and long poll server on 127.0.0.1 that records every
// request and answers from a script.
type fakeVK struct {
	t     *testing.T
	srv   *httptest.Server
	token string

	mu     sync.Mutex
	script []call
	got    []call
}

func newFakeVK(t *testing.T, token string, script []call) *fakeVK {
	f := &fakeVK{t: t, token: token, script: script}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeVK) serve(w http.ResponseWriter, r *http.Request) {
	var name string
	params := map[string]string{}
	switch {
	case strings.HasPrefix(r.URL.Path, "/method/") && r.Method == http.MethodPost:
		name = strings.TrimPrefix(r.URL.Path, "/method/")
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for k := range r.PostForm {
			params[k] = r.PostForm.Get(k)
		}
	case r.URL.Path == "/lp" && r.Method == http.MethodGet:
		name = r.URL.Query().Get("act")
		for k := range r.URL.Query() {
			if k != "act" {
				params[k] = r.URL.Query().Get(k)
			}
		}
	default:
		name = r.Method + " " + r.URL.Path
	}
	got := call{Method: name, Params: params, Auth: r.Header.Get("Authorization") == "Bearer "+f.token}

	f.mu.Lock()
	f.got = append(f.got, got)
	var next *call
	if len(f.script) > 0 {
		c := f.script[0]
		f.script = f.script[1:]
		next = &c
	}
	f.mu.Unlock()

	if next == nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `{"error":{"error_code":10,"error_msg":"fake: unexpected request"}}`)
		return
	}
	if next.hangup {
		hj, ok := w.(http.Hijacker)
		if ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
	}
	ct := next.contentType
	if ct == "" {
		ct = "application/json"
	}
	status := next.status
	if status == 0 {
		status = http.StatusOK
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, strings.ReplaceAll(next.body, "{{server}}", f.srv.URL+"/lp"))
}

// requests returns what was received; unused returns the script left over.
func (f *fakeVK) requests() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.got...)
}

func (f *fakeVK) unused() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.script)
}

// loopbackOnly refuses any request that would leave the machine.
type loopbackOnly struct{ base http.RoundTripper }

func (l loopbackOnly) RoundTrip(r *http.Request) (*http.Response, error) {
	ip := net.ParseIP(r.URL.Hostname())
	if ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("test transport: refusing non-loopback host %q", r.URL.Hostname())
	}
	return l.base.RoundTrip(r)
}

// datasetDir is the VK protocol samples (read in place, never copied).
func datasetDir(t testing.TB) string {
	dir := filepath.Join("..", "..", "..", "shared", "datasets", "protocol", "protocol-vk")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("VK protocol samples not found at %s: %v", dir, err)
	}
	return dir
}

// sample reads a VK sample and overrides top-level fields (secret,
// group_id) so that it is addressed to the test community.
func sample(t *testing.T, name string, set map[string]any) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(datasetDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for k, v := range set {
		m[k] = v
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
