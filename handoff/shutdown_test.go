package handoff

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// An http.Server with a console's live stream open shuts down at once: the
// stream ends when Shutdown starts, without Service.Close being called
// first (parley serve used to wait out its 15 s budget here).
func TestShutdownWithOpenConsole(t *testing.T) {
	e := newEnv(t, Config{})
	e.agent("anna", RoleAgent)
	srv := httptest.NewUnstartedServer(e.svc.Handler())
	srv.Start()
	defer srv.Close()
	c := newClient(t, srv)
	c.login("anna")
	req, _ := http.NewRequest("GET", srv.URL+"/api/events", nil)
	res, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if l, _ := bufio.NewReader(res.Body).ReadString('\n'); !strings.HasPrefix(l, "retry:") {
		t.Fatalf("stream opened with %q", l)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	began := time.Now()
	if err := srv.Config.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with an open console: %v after %v", err, time.Since(began))
	}
	if d := time.Since(began); d > 2*time.Second {
		t.Errorf("shutdown took %v, want under 2 s", d)
	}
}
