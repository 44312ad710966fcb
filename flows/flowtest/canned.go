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
	// wrong are the calls that did not send what an answer's request:
	// expects, the first problem of each.
	wrong []failure
}

func newCanned(rs []*syntax.Canned) *canned {
	return &canned{responses: rs, used: make([]bool, len(rs))}
}

// method is the method a canned answer is for ("" without one: it
// answers any).
func method(c *syntax.Canned) string {
	if c.Method == nil {
		return ""
	}
	return strings.ToUpper(c.Method.Value)
}

// takeWrong returns and forgets the request problems seen so far.
func (c *canned) takeWrong() []failure {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.wrong
	c.wrong = nil
	return w
}

func (c *canned) Do(req *http.Request) (*http.Response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	url := req.URL.String()
	for i, r := range c.responses {
		if (r.Method != nil && method(r) != req.Method) || !urlMatches(r.URL.Value, url) {
			continue
		}
		c.used[i] = true
		if r.Request != nil {
			if f := checkRequest(r.Request, req); f != nil {
				f.msg = fmt.Sprintf("http %s %s: %s", req.Method, url, f.msg)
				c.wrong = append(c.wrong, *f)
			}
		}
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

// checkRequest compares a call with what its canned answer expects: each
// listed header (by name, any case) and the JSON body, compared as values.
func checkRequest(want *syntax.ExpectRequest, req *http.Request) *failure {
	for _, h := range want.Headers {
		got, ok := req.Header[http.CanonicalHeaderKey(h.Key.Value)]
		if !ok {
			return &failure{h.Key.Pos, fmt.Sprintf("header %s: want %q, not sent", h.Key.Value, h.Val.Scalar.Value)}
		}
		if strings.Join(got, ", ") != h.Val.Scalar.Value {
			return &failure{h.Val.Pos, fmt.Sprintf("header %s: want %q, got %q", h.Key.Value, h.Val.Scalar.Value, strings.Join(got, ", "))}
		}
	}
	if want.Body == nil {
		return nil
	}
	var raw []byte
	if req.GetBody != nil {
		if rc, err := req.GetBody(); err == nil {
			raw, _ = io.ReadAll(rc)
			rc.Close()
		}
	} else if req.Body != nil {
		raw, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(raw))
	}
	wantJSON, _ := json.Marshal(want.Body.Any())
	if len(raw) == 0 {
		return &failure{want.Body.Pos, fmt.Sprintf("body: want %s, the call sent none", wantJSON)}
	}
	var got any
	if err := json.Unmarshal(raw, &got); err != nil {
		return &failure{want.Body.Pos, fmt.Sprintf("body: want %s, got %q (not JSON)", wantJSON, raw)}
	}
	gotJSON, _ := json.Marshal(got) // keys sorted, as wantJSON's
	if !bytes.Equal(gotJSON, wantJSON) {
		return &failure{want.Body.Pos, fmt.Sprintf("body: want %s, got %s", wantJSON, gotJSON)}
	}
	return nil
}
