package flows

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/parley-chat/parley/flows/eval"
)

// ErrHostNotAllowed is returned (inside the error event) when an http
// node's URL names a host outside the allowed list.
var ErrHostNotAllowed = errors.New("host not allowed")

// http runs an http node and returns the node to go to next. The error
// text goes into an event: secrets in it are replaced and URLs lose their
// query strings (see safeURL).
func (t *turn) http(n *node) *node {
	if err := t.call(n); err != nil {
		t.errorEvent(n, "http", errors.New(t.e.redactSecrets(err.Error())))
		return n.onError
	}
	return t.next(n)
}

// uses is what an http spec's url, headers and body read.
func (s *httpSpec) uses() eval.Uses {
	var u eval.Uses
	if s.url != nil {
		u |= s.url.Uses
	}
	if s.body != nil {
		u |= s.body.Uses
	}
	for _, h := range s.headers {
		u |= h.tmpl.Uses
	}
	return u
}

func (t *turn) call(n *node) error {
	spec := n.http
	if spec.uses()&eval.UsesSecret != 0 {
		if len(t.e.noSecret) > 0 {
			return fmt.Errorf("secrets without a value: %s (set %s<NAME> or the secrets file)", strings.Join(t.e.noSecret, ", "), SecretEnvPrefix)
		}
		// Secrets are in the environment only while the request is built.
		t.env.Secret = t.e.secrets
		defer func() { t.env.Secret = nil }()
	}
	ctx, cancel := context.WithTimeout(t.ctx, spec.timeout)
	defer cancel()
	req, u, err := t.request(ctx, spec)
	if err != nil {
		return err
	}
	t.env.Secret = nil
	resp, err := t.e.http.Do(req)
	if err != nil {
		// A *url.Error repeats the whole URL, query string included.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%s %s: %w", spec.method, safeURL(u), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, t.e.opts.MaxResponseBytes+1))
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", spec.method, safeURL(u), err)
	}
	if int64(len(data)) > t.e.opts.MaxResponseBytes {
		return fmt.Errorf("%s %s: answer larger than %d bytes", spec.method, safeURL(u), t.e.opts.MaxResponseBytes)
	}
	if resp.StatusCode >= 500 {
		return fmt.Errorf("%s %s: server error %d", spec.method, safeURL(u), resp.StatusCode)
	}
	var decoded any
	if len(bytes.TrimSpace(data)) > 0 {
		// A 2xx must be JSON; a 4xx is an answer the flow branches on by
		// status, and its body (often an HTML error page) may be anything.
		if err := json.Unmarshal(data, &decoded); err != nil && resp.StatusCode/100 == 2 {
			return fmt.Errorf("%s %s: answer is not JSON: %w", spec.method, safeURL(u), err)
		} else if err != nil {
			decoded = nil
		}
	}
	t.env.Response = eval.Response{Status: resp.StatusCode, OK: resp.StatusCode/100 == 2, Body: decoded}
	defer func() { t.env.Response = eval.Response{} }()
	for _, a := range spec.save {
		v, err := t.value(a.prog)
		if err != nil {
			return fmt.Errorf("save %s: %w", a.name, err)
		}
		if a.contact {
			t.setContactField(a.name, eval.Format(v))
			t.out = append(t.out, Output{Kind: SetContact, Fields: map[string]string{a.name: eval.Format(v)}})
			continue
		}
		t.setVar(a.name, v)
	}
	return nil
}

// request builds the request of an http node: the URL with customer text
// escaped (eval.Template.RenderURL), the host checked, headers and body.
func (t *turn) request(ctx context.Context, spec *httpSpec) (*http.Request, *url.URL, error) {
	t.need(spec.url.Uses)
	raw, err := spec.url.RenderURL(t.vm, &t.env)
	if err != nil {
		return nil, nil, fmt.Errorf("url: %w", err)
	}
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("url %q: %w", cutQuery(raw), errors.Unwrap(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, nil, fmt.Errorf("url %s: scheme must be http or https", safeURL(u))
	}
	if !slices.Contains(t.e.hosts, strings.ToLower(u.Hostname())) {
		allowed := "none"
		if len(t.e.hosts) > 0 {
			allowed = strings.Join(t.e.hosts, ", ")
		}
		return nil, nil, fmt.Errorf("%w: %q (add it to allowed_hosts in parley.yaml; allowed now: %s)", ErrHostNotAllowed, u.Hostname(), allowed)
	}
	if t.e.http == nil {
		return nil, nil, errors.New("no HTTP client configured")
	}
	var body io.Reader
	if spec.body != nil {
		t.need(spec.body.Uses)
		v, err := spec.body.Render(t.vm, &t.env)
		if err != nil {
			return nil, nil, fmt.Errorf("body: %w", err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, nil, fmt.Errorf("body: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, spec.method, u.String(), body)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", spec.method, safeURL(u), err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range spec.headers {
		t.need(h.tmpl.Uses)
		v, err := h.tmpl.Render(t.vm, &t.env)
		if err != nil {
			return nil, nil, fmt.Errorf("header %s: %w", h.name, err)
		}
		req.Header.Set(h.name, v)
	}
	return req, u, nil
}

// guardRedirects returns a copy of an *http.Client whose redirects must
// stay on the allowed hosts too: otherwise an allowed host could send the
// call anywhere. Other Doers are the runtime's to police.
func guardRedirects(d Doer, hosts []string) Doer {
	c, ok := d.(*http.Client)
	if !ok || c == nil {
		return d
	}
	cc := *c
	next := c.CheckRedirect
	cc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if h := strings.ToLower(req.URL.Hostname()); !slices.Contains(hosts, h) {
			return fmt.Errorf("redirect to %q: %w", h, ErrHostNotAllowed)
		}
		if len(via) >= 5 {
			return errors.New("more than 5 redirects")
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
	return &cc
}

// safeURL is a URL as errors show it: scheme, host and path, without user
// information, query string and fragment, which often carry credentials
// or customer data.
func safeURL(u *url.URL) string {
	c := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	s := c.String()
	if u.RawQuery != "" || u.ForceQuery {
		s += "?…"
	}
	return s
}

// cutQuery is raw text of a URL that did not parse, without what follows
// '?' or '#'.
func cutQuery(raw string) string {
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		return raw[:i] + "?…"
	}
	return raw
}
