package webchat

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestAssets(t *testing.T) {
	_, srv := testServer(t, Config{Title: `Tea </script><b>&`, MaxMessageBytes: 1000}, &recorder{}, nil)
	get := func(path string, hdr http.Header) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		for k, v := range hdr {
			req.Header[k] = v
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	resp, page := get("/", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET / = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if !strings.Contains(page, `<script src="/widget.js" data-open="true" async></script>`) {
		t.Error("the demo page does not embed the widget with its one script tag")
	}
	if strings.Contains(page, "</script><b>") || !strings.Contains(page, "Tea &lt;/script&gt;&lt;b&gt;&amp;") {
		t.Error("the title is not HTML-escaped on the demo page")
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP = %q", csp)
	}

	resp, js := get("/widget.js", nil)
	if resp.Header.Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Errorf("widget.js Content-Type %q", resp.Header.Get("Content-Type"))
	}
	if !strings.Contains(js, `({"title":"Tea \u003c/script\u003e\u003cb\u003e\u0026","maxBytes":1000});`) {
		t.Errorf("widget.js lacks its escaped config; ends %q", js[len(js)-120:])
	}
	if strings.Contains(js, "innerHTML") || strings.Contains(js, "insertAdjacentHTML") || strings.Contains(js, "document.write") {
		t.Error("widget.js must not parse strings as HTML")
	}
	etag := resp.Header.Get("ETag")
	if resp, _ := get("/widget.js", http.Header{"If-None-Match": {etag}}); resp.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation with the ETag = %d, want 304", resp.StatusCode)
	}

	if resp, css := get("/widget.css", nil); resp.StatusCode != 200 || !strings.Contains(css, "@media (max-width: 480px)") {
		t.Errorf("widget.css = %d, without the phone layout", resp.StatusCode)
	}
	if resp, _ := get("/nope", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /nope = %d, want 404", resp.StatusCode)
	}
	if resp, _ := get("/ws", nil); resp.StatusCode != http.StatusUpgradeRequired {
		t.Errorf("GET /ws without upgrade = %d, want 426", resp.StatusCode)
	}
}
