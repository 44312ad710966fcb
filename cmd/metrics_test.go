package cmd

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestMetricsToken(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("metrics")) })
	for _, tc := range []struct {
		token, auth string
		want        int
	}{
		{"", "", 200}, // no token set: open
		{"s3cret", "", 401},
		{"s3cret", "Bearer wrong", 401},
		{"s3cret", "s3cret", 401},
		{"s3cret", "Bearer s3cret", 200},
	} {
		r := httptest.NewRequest("GET", "/metrics", nil)
		if tc.auth != "" {
			r.Header.Set("Authorization", tc.auth)
		}
		w := httptest.NewRecorder()
		metricsAuth(tc.token, ok).ServeHTTP(w, r)
		if w.Code != tc.want {
			t.Errorf("token %q, Authorization %q: %d, want %d", tc.token, tc.auth, w.Code, tc.want)
		}
	}
}

// A scrape reads the queue once for its three gauges, and scrapes within
// five seconds of it not at all.
func TestQueueGaugesReadOncePerInterval(t *testing.T) {
	reads := 0
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	q := &queueGauges{
		stats: func() (int, time.Duration, int) { reads++; return reads, time.Duration(reads) * time.Second, 2 },
		now:   func() time.Time { return now },
	}
	for range 3 { // one scrape: three gauges
		if n, _, _ := q.read(); n != 1 {
			t.Fatalf("queued = %d, want the first read's 1", n)
		}
	}
	now = now.Add(4 * time.Second)
	q.read()
	if reads != 1 {
		t.Errorf("%d queue reads within 5 s, want 1", reads)
	}
	now = now.Add(time.Second)
	if n, w, _ := q.read(); reads != 2 || n != 2 || w != 2*time.Second {
		t.Errorf("after 5 s: %d reads, queued %d, wait %v; want a fresh read", reads, n, w)
	}
}

// With an https public URL (TLS ends at a proxy) the console's session
// cookie is Secure and __Host- prefixed, with no setting to remember.
func TestHTTPSPublicURLMakesCookiesSecure(t *testing.T) {
	s, _ := startServer(t, func(c *Config) { c.PublicURL = "https://chat.example.com" })
	addAgent(t, s.db, "anna", "Анна", "agent")
	res, err := http.Post("http://"+s.addr+"/api/login", "application/json",
		strings.NewReader(`{"name":"anna","password":"`+agentPassword+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("login = %d", res.StatusCode)
	}
	var names []string
	for _, c := range res.Cookies() {
		names = append(names, c.Name)
		if c.Name == "__Host-parley_session" && c.Secure && c.Path == "/" && c.Domain == "" {
			return
		}
	}
	t.Errorf("cookies %q: want a Secure __Host-parley_session", names)
}
