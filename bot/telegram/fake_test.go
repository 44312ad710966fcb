package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/bot/channel"
)

// testToken is shaped like a real token so the redaction pattern is
// exercised, and its secret half is easy to grep for in logs and errors.
const (
	testToken  = "123456789:AAE-secretTOKEN_xyz"
	tokenTail  = "secretTOKEN"
	testSecret = "hook-Secret_42"
)

// exchange is one canned Bot API answer and the request it expects.
type exchange struct {
	method string
	params url.Values // the exact form the request must carry
	status int        // HTTP status; 0 = 200
	body   string     // the answer; "" = {"ok":true,"result":true}
	// hang holds the request open until the client gives up: a long poll
	// with nothing new. The test cancels Run when it is reached.
	hang bool
	// stop also tells the test to cancel Run once this exchange is served.
	stop bool
}

type recorded struct {
	Method string
	Params url.Values
}

// fakeAPI is a Bot API on 127.0.0.1 that serves a script of exchanges in
// order and records every request.
type fakeAPI struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	script []exchange
	next   int
	got    []recorded
	stop   chan struct{}
	once   sync.Once
}

func newFakeAPI(t *testing.T, script []exchange) *fakeAPI {
	f := &fakeAPI{t: t, script: script, stop: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot"+testToken+"/")
	if !ok || r.Method != http.MethodPost {
		f.t.Errorf("fake api: unexpected %s %s", r.Method, r.URL.Path)
		http.Error(w, "bad path", http.StatusNotFound)
		return
	}
	if err := r.ParseForm(); err != nil {
		f.t.Errorf("fake api: %s: %v", rest, err)
	}
	f.mu.Lock()
	f.got = append(f.got, recorded{Method: rest, Params: r.PostForm})
	var ex exchange
	have := f.next < len(f.script)
	if have {
		ex = f.script[f.next]
		f.next++
	}
	f.mu.Unlock()
	if !have {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `{"ok":false,"error_code":500,"description":"fake api: script exhausted"}`)
		return
	}
	if ex.hang || ex.stop {
		f.once.Do(func() { close(f.stop) })
	}
	if ex.hang {
		<-r.Context().Done()
		return
	}
	status, body := ex.status, ex.body
	if status == 0 {
		status = http.StatusOK
	}
	if body == "" {
		body = `{"ok":true,"result":true}`
	}
	if json.Valid([]byte(body)) {
		w.Header().Set("Content-Type", "application/json")
	} else {
		w.Header().Set("Content-Type", "text/html")
	}
	w.WriteHeader(status)
	fmt.Fprint(w, body)
}

// check asserts that the requests were exactly the scripted ones and that
// every canned answer was used.
func (f *fakeAPI) check(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	want := make([]recorded, len(f.script))
	for i, ex := range f.script {
		p := ex.params
		if p == nil {
			p = url.Values{}
		}
		want[i] = recorded{Method: ex.method, Params: p}
	}
	got := make([]recorded, len(f.got))
	for i, g := range f.got {
		if g.Params == nil {
			g.Params = url.Values{}
		}
		got[i] = g
	}
	if d := diff(want, got); d != "" {
		t.Errorf("bot api requests (-want +got):\n%s", d)
	}
	if f.next != len(f.script) {
		t.Errorf("%d of %d canned answers used", f.next, len(f.script))
	}
}

// loopbackClient refuses to dial anything but loopback, so no test can
// reach the internet whatever URL it is given.
func loopbackClient() *http.Client {
	d := &net.Dialer{Timeout: time.Second}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("test transport: refusing to dial non-loopback %s", addr)
		}
		return d.DialContext(ctx, network, addr)
	}}
	return &http.Client{Transport: tr}
}

// recorder is a channel.Handler that records events and fails the calls
// listed in fail (by call number, from 0).
type recorder struct {
	mu    sync.Mutex
	calls int
	fail  map[int]bool
	got   []channel.Inbound
}

func (r *recorder) HandleInbound(_ context.Context, in channel.Inbound) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.calls
	r.calls++
	r.got = append(r.got, in)
	if r.fail[n] {
		return errors.New("store unavailable")
	}
	return nil
}

func (r *recorder) events() []channel.Inbound {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]channel.Inbound(nil), r.got...)
}

// syncBuffer collects log lines from concurrent goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// samplesDir is Telegram's own example updates, beside the repository.
func samplesDir() string {
	return filepath.Join("..", "..", "..", "shared", "datasets", "protocol", "protocol-telegram")
}

// sample reads an official example update, renumbered to updateID so a
// batch can hold several. Tests that use one skip when the datasets are absent.
func sample(t *testing.T, name string, updateID int) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(samplesDir(), "official-example_"+name+".json"))
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("protocol samples not found in %s", samplesDir())
	}
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("sample %s: %v", name, err)
	}
	m["update_id"] = json.RawMessage(fmt.Sprint(updateID))
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// form builds url.Values from key, value pairs.
func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// ok wraps a result in a successful Bot API answer.
func ok(result string) string { return `{"ok":true,"result":` + result + `}` }

// apiError is a failed Bot API answer.
func apiError(code int, desc string, extra string) string {
	s := fmt.Sprintf(`{"ok":false,"error_code":%d,"description":%q`, code, desc)
	if extra != "" {
		s += `,"parameters":` + extra
	}
	return s + "}"
}
