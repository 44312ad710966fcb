package webchat

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

//go:embed static
var static embed.FS

// configMarker is replaced in widget.js by the widget's JSON configuration.
const configMarker = "/*PARLEY_CONFIG*/{}"

// asset is one embedded file, ready to serve.
type asset struct {
	body  []byte
	ctype string
	etag  string
	csp   string
}

type assets struct{ index, js, css asset }

func newAssets(title string, maxBytes int, lang string) (*assets, error) {
	read := func(name, ctype string) (asset, error) {
		b, err := static.ReadFile("static/" + name)
		if err != nil {
			return asset{}, fmt.Errorf("webchat: embedded %s: %w", name, err)
		}
		return asset{body: b, ctype: ctype}, nil
	}
	var as assets
	var err error
	if as.index, err = read("index.html", "text/html; charset=utf-8"); err != nil {
		return nil, err
	}
	if as.js, err = read("widget.js", "text/javascript; charset=utf-8"); err != nil {
		return nil, err
	}
	if as.css, err = read("widget.css", "text/css; charset=utf-8"); err != nil {
		return nil, err
	}
	// json.Marshal escapes <, > and &, so the title cannot end the script.
	cfg, err := json.Marshal(struct {
		Title    string `json:"title"`
		MaxBytes int    `json:"maxBytes"`
		Lang     string `json:"lang,omitempty"`
	}{title, maxBytes, lang})
	if err != nil {
		return nil, fmt.Errorf("webchat: widget config: %w", err)
	}
	if !bytes.Contains(as.js.body, []byte(configMarker)) {
		return nil, fmt.Errorf("webchat: widget.js lacks the config marker %q", configMarker)
	}
	as.js.body = bytes.Replace(as.js.body, []byte(configMarker), cfg, 1)
	// The demo page: the shop's name is the title, escaped for HTML.
	as.index.body = bytes.ReplaceAll(as.index.body, []byte("{{TITLE}}"), []byte(htmlEscape(title)))
	// The demo page runs no inline script: the widget comes from /widget.js
	// like on any other site, and the policy keeps it that way.
	as.index.csp = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
	for _, a := range []*asset{&as.index, &as.js, &as.css} {
		sum := sha256.Sum256(a.body)
		a.etag = `"` + hex.EncodeToString(sum[:8]) + `"`
	}
	return &as, nil
}

func (as *assets) serve(a asset) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", a.ctype)
		h.Set("X-Content-Type-Options", "nosniff")
		// Revalidate every time: a new release must reach the sites at once;
		// the ETag makes the check cheap.
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", a.etag)
		if a.csp != "" {
			h.Set("Content-Security-Policy", a.csp)
			h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		}
		if strings.Contains(r.Header.Get("If-None-Match"), a.etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write(a.body)
	}
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}
