package cmd

import (
	"bytes"
	"encoding/json"
	"hash/fnv"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// DemoOrdersHost is the order service the demo project's parley.yaml
// names. example.com is reserved (RFC 2606): no real shop answers there, so
// Parley answers it itself, in-process, wherever a project runs (serve, chat,
// a project fresh from `parley init`) and without a network. A project that
// points settings.orders_api at its own service never reaches this.
const DemoOrdersHost = "orders.example.com"

// demoTransport answers requests for DemoOrdersHost from demoOrder and
// sends every other request through next.
type demoTransport struct {
	next http.RoundTripper
	now  func() time.Time
}

var demoOrderPath = regexp.MustCompile(`^(?:/[^/]+)*/orders/([^/]+)$`)

func (d demoTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if !strings.EqualFold(r.URL.Hostname(), DemoOrdersHost) {
		return d.next.RoundTrip(r)
	}
	if r.Body != nil {
		r.Body.Close()
	}
	status, body := http.StatusNotFound, []byte(`{"error":"not found"}`)
	if m := demoOrderPath.FindStringSubmatch(r.URL.Path); m != nil && r.Method == http.MethodGet {
		status, body = demoOrder(m[1], d.now())
	}
	return &http.Response{
		Status:        http.StatusText(status),
		StatusCode:    status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       r,
	}, nil
}

var demoOrderID = regexp.MustCompile(`^[0-9]{6,10}$`)

// demoOrder stands in for a shop's order service: a status derived from
// the number (the same number, the same answer); numbers starting with 9
// are "not found".
func demoOrder(id string, now time.Time) (int, []byte) {
	if !demoOrderID.MatchString(id) || id[0] == '9' {
		return http.StatusNotFound, []byte(`{"error":"order not found"}`)
	}
	statuses := []string{"created", "assembling", "in_transit", "ready", "delivered"}
	h := fnv.New32a()
	h.Write([]byte(id))
	n := int(h.Sum32())
	status := statuses[n%len(statuses)]
	body := map[string]string{"id": id, "status": status}
	if status != "delivered" {
		body["eta"] = now.AddDate(0, 0, 1+n%5).Format("02.01.2006")
	}
	b, _ := json.Marshal(body) // a map of strings always encodes
	return http.StatusOK, b
}
