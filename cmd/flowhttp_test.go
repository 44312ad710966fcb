package cmd

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-chat/parley/flows"
)

// TestEngineOptionsGuard: the production client answers the demo's order
// host in-process, refuses a loopback address (the admin API's), and reaches
// it once its network is allowed; secrets come from the file named.
func TestEngineOptionsGuard(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "secrets")
	if err := os.WriteFile(file, []byte("orders_token=abc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := engineOptions(FlowHTTPConfig{SecretsFile: file})
	if err != nil {
		t.Fatal(err)
	}
	if opts.Secrets["orders_token"] != "abc" {
		t.Errorf("secrets %q", opts.Secrets)
	}
	demo, err := http.NewRequest("GET", "https://"+DemoOrdersHost+"/orders/1234567", nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := opts.HTTP.Do(demo); err != nil || resp.StatusCode != 200 {
		t.Errorf("demo host: %v %v", resp, err)
	}
	local, _ := http.NewRequest("GET", srv.URL, nil)
	if _, err := opts.HTTP.Do(local); !errors.Is(err, flows.ErrAddressNotAllowed) {
		t.Errorf("loopback: %v, want ErrAddressNotAllowed", err)
	}
	opts, err = engineOptions(FlowHTTPConfig{AllowNetworks: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := opts.HTTP.Do(local); err != nil || resp.StatusCode != 200 {
		t.Errorf("allowed loopback: %v %v", resp, err)
	}
	if _, err := engineOptions(FlowHTTPConfig{AllowNetworks: []string{"10.0.0.0/33"}}); err == nil || !strings.Contains(err.Error(), "flow_http.allow_networks") {
		t.Errorf("bad network: %v", err)
	}
}
