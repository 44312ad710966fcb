package handoff

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// One account is one throttle bucket however its name is typed: sign-in
// trims and case-folds the name, so the throttle must too, or padding the
// name gives a guesser a fresh burst each time.
func TestSignInThrottleKeysTheNormalisedName(t *testing.T) {
	e := newEnv(t, Config{LoginEvery: time.Minute, LoginBurst: 3})
	srv := e.server()
	e.agent("anna", RoleAgent)
	c := newClient(t, srv)
	for _, name := range []string{"anna", " anna", "ANNA "} {
		c.call("POST", "/api/login", map[string]string{"name": name, "password": "a wrong guess"}, 401, nil)
	}
	for _, name := range []string{"anna", "\tAnna", "anna  ", "aNNa"} {
		res, b := c.do("POST", "/api/login", map[string]string{"name": name, "password": testPassword}, nil)
		if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
			t.Errorf("sign-in as %q after 3 wrong guesses = %d %s, want 429 with Retry-After", name, res.StatusCode, b)
		}
	}
}

// loginFrom posts a sign-in from the given client address straight to the
// handler (httptest clients all come from 127.0.0.1).
func (e *env) loginFrom(addr, name, password string) *httptest.ResponseRecorder {
	e.t.Helper()
	body := fmt.Sprintf(`{"name":%q,"password":%q}`, name, password)
	req := httptest.NewRequest("POST", "/api/login", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = addr
	w := httptest.NewRecorder()
	e.svc.Handler().ServeHTTP(w, req)
	return w
}

// A stream of sign-ins with ever new names from one address is limited
// before any password is hashed; other addresses are not affected. With
// the defaults: a burst of 20, then one attempt every 3 s.
func TestSignInLimitedPerAddress(t *testing.T) {
	e := newEnv(t, Config{})
	e.agent("anna", RoleAgent)
	for i := range 20 {
		if w := e.loginFrom("10.0.0.1:4000", fmt.Sprintf("nobody%d", i), "x"); w.Code != http.StatusUnauthorized {
			t.Fatalf("attempt %d = %d %s, want 401", i+1, w.Code, w.Body)
		}
	}
	w := e.loginFrom("10.0.0.1:4001", "nobody-else", "x")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Fatalf("21st attempt from one address = %d %s (Retry-After %q), want 429 with Retry-After",
			w.Code, w.Body, w.Header().Get("Retry-After"))
	}
	if w := e.loginFrom("10.0.0.2:4000", "anna", testPassword); w.Code != http.StatusOK {
		t.Errorf("sign-in from another address = %d %s, want 200", w.Code, w.Body)
	}
	e.clock.Advance(3 * time.Second)
	if w := e.loginFrom("10.0.0.1:4000", "anna", testPassword); w.Code != http.StatusOK {
		t.Errorf("sign-in from the limited address after 3 s = %d %s, want 200", w.Code, w.Body)
	}
}

// Password hashing is capped overall: when every hashing slot is taken, a
// sign-in waits only briefly and then gets 503 with Retry-After, without
// hashing; the refusal is counted.
func TestSignInHashingCapped(t *testing.T) {
	e := newEnv(t, Config{MaxHashing: 1, HashWait: 20 * time.Millisecond})
	e.agent("anna", RoleAgent)
	release, ok := e.svc.hashing.acquire(context.Background())
	if !ok {
		t.Fatal("the only hashing slot is not free")
	}
	began := time.Now()
	w := e.loginFrom("10.0.0.1:4000", "anna", testPassword)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Fatalf("sign-in with every hashing slot taken = %d %s, want 503 with Retry-After", w.Code, w.Body)
	}
	if d := time.Since(began); d > time.Second {
		t.Errorf("the refusal took %v, want it quick", d)
	}
	if got := counterValue(t, e.svc.metrics.refused.WithLabelValues("busy")); got != 1 {
		t.Errorf("refused{reason=busy} = %v, want 1", got)
	}
	release()
	if w := e.loginFrom("10.0.0.1:4000", "anna", testPassword); w.Code != http.StatusOK {
		t.Errorf("sign-in after the slot is free = %d %s, want 200", w.Code, w.Body)
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// Behind a proxy the limits count the client the proxy names (Config.ClientIP),
// not the proxy: one client is limited, the others behind the same proxy are not.
func TestSignInLimitCountsTheClientBehindAProxy(t *testing.T) {
	e := newEnv(t, Config{ClientIP: func(r *http.Request) string { return r.Header.Get("X-Test-Client") }})
	e.agent("anna", RoleAgent)
	from := func(client, name, password string) int {
		req := httptest.NewRequest("POST", "/api/login", strings.NewReader(fmt.Sprintf(`{"name":%q,"password":%q}`, name, password)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Test-Client", client)
		req.RemoteAddr = "10.9.9.9:443" // the proxy, for everyone
		w := httptest.NewRecorder()
		e.svc.Handler().ServeHTTP(w, req)
		return w.Code
	}
	for i := range 20 {
		if code := from("203.0.113.5", fmt.Sprintf("nobody%d", i), "x"); code != http.StatusUnauthorized {
			t.Fatalf("attempt %d = %d, want 401", i+1, code)
		}
	}
	if code := from("203.0.113.5", "nobody-else", "x"); code != http.StatusTooManyRequests {
		t.Errorf("21st attempt of one client = %d, want 429", code)
	}
	if code := from("198.51.100.7", "anna", testPassword); code != http.StatusOK {
		t.Errorf("another client behind the same proxy = %d, want 200", code)
	}
}
