package flowtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/parley-chat/parley/flows/syntax"
)

// canned answers http nodes from a test's declared responses.
type canned struct {
	mu         sync.Mutex
	responses  []*syntax.Canned
	used       []bool
	unexpected []string
}

func newCanned(rs []*syntax.Canned) *canned {
	return &canned{responses: rs, used: make([]bool, len(rs))}
}

func method(c *syntax.Canned) string {
	if c.Method == nil {
		return "GET"
	}
	return strings.ToUpper(c.Method.Value)
}

func (c *canned) Do(req *http.Request) (*http.Response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	url := req.URL.String()
	for i, r := range c.responses {
		if method(r) != req.Method || !urlMatches(r.URL.Value, url) {
			continue
		}
		c.used[i] = true
		if r.Fail {
			return nil, errors.New("connection refused (canned failure)")
		}
		var body []byte
		if r.Body != nil {
			var err error
			if body, err = json.Marshal(r.Body.Any()); err != nil {
				return nil, err
			}
		}
		return &http.Response{StatusCode: r.Status, Status: fmt.Sprintf("%d", r.Status),
			Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(bytes.NewReader(body)), Request: req}, nil
	}
	c.unexpected = append(c.unexpected, req.Method+" "+url)
	return nil, fmt.Errorf("no canned response for %s %s", req.Method, url)
}

func urlMatches(pattern, url string) bool {
	if p, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(url, p)
	}
	return pattern == url
}

func (c *canned) unused() []*syntax.Canned {
	var out []*syntax.Canned
	for i, r := range c.responses {
		if !c.used[i] {
			out = append(out, r)
		}
	}
	return out
}
