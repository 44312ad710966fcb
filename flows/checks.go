package flows

import (
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/parley-chat/parley/flows/syntax"
)

// httpMethods are the methods an http node may use.
var httpMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

func (c *compiler) http(h *syntax.HTTP) *httpSpec {
	s := &httpSpec{method: "GET", timeout: 5 * time.Second}
	if h.Body != nil {
		s.method = "POST"
	}
	if h.Method != nil {
		m := strings.ToUpper(h.Method.Value)
		if !slices.Contains(httpMethods, m) {
			c.errorf(h.Method.Pos, h.Path+".method", "unknown method %q (want one of %s)", h.Method.Value, strings.Join(httpMethods, ", "))
		}
		s.method = m
	}
	// Only these parts may read secret.NAME (flows/http.go).
	c.ec.SecretsOK = true
	if h.URL != nil {
		s.url = c.ec.Template(h.URL, h.Path+".url")
		c.checkURL(h.URL, h.Path+".url")
	}
	for _, hd := range h.Headers {
		s.headers = append(s.headers, headerTmpl{name: hd.Target.Value, tmpl: c.ec.Template(hd.Expr, hd.Path)})
	}
	s.body = c.ec.JSON(h.Body, h.Path+".body")
	c.ec.SecretsOK = false
	if h.Timeout != nil {
		s.timeout = c.duration(h.Timeout, h.Path+".timeout", 100*time.Millisecond, 30*time.Second)
	}
	s.save = c.assigns(h.Save, true)
	return s
}

// checkURL checks a URL whose scheme and host are written out literally
// against the project's allowed hosts; URLs built from settings are checked
// when the call is made.
func (c *compiler) checkURL(s *syntax.Str, path string) {
	v := s.Value
	i := strings.Index(v, "{{")
	if i >= 0 {
		v = v[:i]
	}
	if !strings.Contains(v, "://") {
		return
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" {
		return
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		c.errorf(s.Pos, path, "scheme %q: want http or https", u.Scheme)
		return
	}
	if i >= 0 && !strings.Contains(v[len(u.Scheme)+3:], "/") {
		return // the host continues into the template
	}
	if len(c.p.allowedHosts) > 0 && !slices.Contains(c.p.allowedHosts, strings.ToLower(u.Hostname())) {
		c.errorf(s.Pos, path, "host %q is not in allowed_hosts", u.Hostname())
	}
}

func (c *compiler) handoff(h *syntax.Handoff) *handoffSpec {
	s := &handoffSpec{
		reason: c.ec.Template(h.Reason, h.Path+".reason"),
		note:   c.ec.Template(h.Note, h.Path+".note"),
	}
	if h.Priority != nil {
		if !strings.Contains(h.Priority.Value, "{{") && !slices.Contains(priorities, h.Priority.Value) {
			c.errorf(h.Priority.Pos, h.Path+".priority", "unknown priority %q (want one of %s)", h.Priority.Value, strings.Join(priorities, ", "))
		}
		s.priority = c.ec.Template(h.Priority, h.Path+".priority")
	}
	return s
}

// checkLiterals checks strings compared with payload, intent and faq.id
// against the project's button values and knowledge-base labels: a typo
// there would make a branch silently never match.
func (c *compiler) checkLiterals() {
	values := map[string]bool{}
	for _, f := range c.p.flows {
		for _, n := range f.order {
			for _, b := range n.buttons.items {
				values[b.value] = true
			}
		}
	}
	var labels, entries map[string]bool
	if u := c.p.understand; u != nil {
		labels = u.labels
		entries = map[string]bool{}
		for id := range u.entries {
			entries[id] = true
		}
	}
	for _, l := range c.ec.Literals {
		var known map[string]bool
		what := ""
		switch l.Name {
		case "payload":
			known, what = values, "no button has the value %q"
		case "intent":
			known, what = labels, "no faq entry or intent is called %q"
		case "faq.id":
			known, what = entries, "no faq entry is called %q"
		}
		if known[l.Value] || l.Value == "" {
			continue
		}
		if len(known) == 0 && l.Name != "payload" {
			c.errorf(l.Pos, l.Path, "%s is always empty: the project has no faq.yaml", l.Name)
			continue
		}
		c.errorf(l.Pos, l.Path, what+"%s", l.Value, hint(l.Value, keys(known)))
	}
}
