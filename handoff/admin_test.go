package handoff

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/parley-chat/parley/store"
)

// slowBackup is a store whose backup takes longer than the server's
// WriteTimeout, like a large file to a slow client.
type slowBackup struct{ *store.DB }

func (s slowBackup) ServeBackup(w http.ResponseWriter, r *http.Request) {
	time.Sleep(300 * time.Millisecond)
	s.DB.ServeBackup(w, r)
}

// A hot backup is not cut by the server's WriteTimeout (parley serve sets
// one, 60 s by default): the route gives itself its own, longer deadline.
func TestBackupOutlivesWriteTimeout(t *testing.T) {
	e := newEnv(t, Config{})
	e.agent("root", RoleAdmin)
	svc, err := New(slowBackup{e.db}, e.cfg, e.rec, zerolog.New(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	srv := httptest.NewUnstartedServer(svc.Handler())
	srv.Config.WriteTimeout = 100 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)
	c := newClient(t, srv)
	c.login("root")
	res, err := c.hc.Get(srv.URL + "/api/admin/backup")
	if err != nil {
		t.Fatalf("backup cut off: %v", err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 || int64(len(b)) != res.ContentLength || len(b) == 0 {
		t.Fatalf("backup = %d, %d of %d bytes, %v", res.StatusCode, len(b), res.ContentLength, err)
	}
}

// The console's event stream outlives the server's read and write timeouts
// (parley serve sets both): the stream clears its deadlines, or the
// expired read deadline would cancel the request and end the stream.
func TestEventStreamOutlivesTimeouts(t *testing.T) {
	e := newEnv(t, Config{})
	e.agent("anna", RoleAgent)
	srv := httptest.NewUnstartedServer(e.svc.Handler())
	srv.Config.ReadTimeout = 150 * time.Millisecond
	srv.Config.WriteTimeout = 150 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(func() { e.svc.Close() })
	c := newClient(t, srv)
	c.login("anna")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/events", nil)
	res, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	<-lines // retry:
	time.Sleep(500 * time.Millisecond)
	tk, _ := e.escalate(e.contact("telegram:8", "", "en"), "requested", "")
	want := fmt.Sprintf(`data: {"type":"ticket","ticket_id":%d,"status":"queued"}`, tk.ID)
	for l := range lines {
		if l == want {
			return
		}
	}
	t.Fatal("the stream ended before the ticket event")
}
