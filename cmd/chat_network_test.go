package cmd

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestChatAllowsNetworksLikeServe: an http node that calls a service on the
// lead's own network reaches it in `parley chat` once
// PARLEY_FLOW_HTTP_ALLOW_NETWORKS allows it, as in `parley serve`; without
// it the call is refused and the flow takes on_error.
func TestChatAllowsNetworksLikeServe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"shipped"}`))
	}))
	defer srv.Close()
	dir := t.TempDir()
	files := map[string]string{
		"parley.yaml": "name: n\nlanguages: [en]\nstart: main\nallowed_hosts: [127.0.0.1]\n",
		"flows/main.yaml": `flow: main
start: look
nodes:
  look:
    http:
      url: "` + srv.URL + `/orders/1"
      save:
        st: response.body?.status ?? ""
    on_error: failed
    next: found
  found:
    say: "Order is {{ vars.st }}"
  failed:
    say: "Lookup failed"
`,
	}
	for name, body := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	chat := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		code := Run(append([]string{"chat", dir, "--db", filepath.Join(t.TempDir(), "c.db")}, args...),
			IO{Stdin: strings.NewReader("hi\n"), Stdout: &out, Stderr: &errOut})
		if code != 0 {
			t.Fatalf("parley chat: exit %d: %s", code, errOut.String())
		}
		return out.String()
	}
	// --debug says why the flow took on_error.
	if out := chat("--debug"); !strings.Contains(out, "Lookup failed") || !strings.Contains(out, "error at main.look http: ") || !strings.Contains(out, "address not allowed") {
		t.Errorf("without an allowed network the loopback call went through, or --debug does not say why:\n%s", out)
	}
	t.Setenv("PARLEY_FLOW_HTTP_ALLOW_NETWORKS", "127.0.0.1")
	if out := chat(); !strings.Contains(out, "Order is shipped") {
		t.Errorf("with 127.0.0.1 allowed:\n%s", out)
	}
}
