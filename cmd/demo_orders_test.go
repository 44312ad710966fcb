package cmd

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"
)

// failTransport stands for the network: the demo host must never reach it.
type failTransport struct{ t *testing.T }

func (f failTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.t.Errorf("request for %s went to the network", r.URL)
	return nil, io.ErrUnexpectedEOF
}

func TestDemoTransport(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	c := &http.Client{Transport: demoTransport{next: failTransport{t}, now: func() time.Time { return now }}}
	get := func(url string) (int, map[string]string) {
		t.Helper()
		resp, err := c.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]string
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body
	}
	code, a := get("https://orders.example.com/api/orders/1234567")
	if code != 200 || a["id"] != "1234567" || a["status"] == "" {
		t.Errorf("1234567: %d %v", code, a)
	}
	if _, b := get("https://ORDERS.example.com/api/orders/1234567"); b["status"] != a["status"] {
		t.Errorf("the same number must give the same answer: %v vs %v", b, a)
	}
	for _, u := range []string{"https://orders.example.com/api/orders/9123456", "https://orders.example.com/api/orders/12", "https://orders.example.com/api/other"} {
		if code, _ := get(u); code != 404 {
			t.Errorf("%s: %d, want 404", u, code)
		}
	}
	// Other hosts go to the network (here: failTransport, which reports it).
	ok := true
	c.Transport = demoTransport{next: roundTripFunc(func(*http.Request) (*http.Response, error) {
		ok = false
		return nil, io.EOF
	}), now: time.Now}
	c.Get("http://crm.internal/orders/1")
	if ok {
		t.Error("a request for another host did not go to the next transport")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
