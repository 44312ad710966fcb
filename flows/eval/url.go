package eval

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/expr-lang/expr/vm"
)

// operatorOnly reports whether an expression reads nothing but settings
// (an operator's base URL), so its text may shape a URL.
func operatorOnly(names map[string]bool) bool {
	if !names["settings"] {
		return false
	}
	for n := range names {
		if n != "settings" {
			return false
		}
	}
	return true
}

// RenderURL renders a URL template. A hole that builds the start of the
// URL (before its host ends) or reads only settings goes in as written:
// that is the operator's base URL. Any other hole is escaped for where it
// stands: as a path segment before the first '?', as a query value after
// it, so customer text ("Тверская 10 & кв=5", "../admin") stays one value
// and never adds a path step, a parameter or a fragment. Errors are as in
// Render.
func (t *Template) RenderURL(m *vm.VM, env *Env) (string, error) {
	if t.Static {
		return t.text, nil
	}
	var b strings.Builder
	var first error
	for _, p := range t.parts {
		if p.prog == nil {
			b.WriteString(p.lit)
			continue
		}
		v, err := p.prog.Eval(m, env)
		if err != nil {
			if first == nil {
				first = fmt.Errorf("{{%s}}: %w", p.prog.Src, err)
			}
			continue
		}
		s, sofar := Format(v), b.String()
		switch {
		case p.prog.operator || !pastHost(sofar):
			b.WriteString(s)
		case strings.Contains(sofar, "?"):
			b.WriteString(url.QueryEscape(s))
		default:
			b.WriteString(url.PathEscape(s))
		}
	}
	return b.String(), first
}

// pastHost reports whether a URL's text has reached its path, query or
// fragment: what comes next is no longer the scheme or the host.
func pastHost(s string) bool {
	i := strings.Index(s, "://")
	return i >= 0 && strings.ContainsAny(s[i+3:], "/?#")
}
