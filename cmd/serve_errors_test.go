package cmd

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every start-up failure of `parley serve` is one clear line and a non-zero
// exit, never a panic (the first minutes of a new user hit each of these).
func TestServeStartupErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	noProject := filepath.Join(dir, "empty")
	os.Mkdir(noProject, 0o755)
	emptyConfig := filepath.Join(dir, "empty.yaml")
	os.WriteFile(emptyConfig, nil, 0o644)
	db := filepath.Join(dir, "p.db")
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string
	}{
		{"a port out of range", map[string]string{"PARLEY_HTTP_ADDR": "127.0.0.1:99999"}, nil, 2, `port "99999" is not a number from 0 to 65535`},
		{"a port without a host", map[string]string{"PARLEY_HTTP_ADDR": "18080"}, nil, 2, `PARLEY_HTTP_ADDR="18080": want HOST:PORT`},
		{"a port in use", nil, []string{"--addr", busy.Addr().String()}, 1, "cannot listen on " + busy.Addr().String() + " (--addr, PARLEY_HTTP_ADDR or http_addr): bind: address already in use; choose a free HOST:PORT"},
		{"an unknown log level", map[string]string{"PARLEY_LOG_LEVEL": "verbose"}, nil, 2, `PARLEY_LOG_LEVEL="verbose": want trace, debug, info, warn, error or disabled`},
		{"a project directory that does not exist", nil, []string{filepath.Join(dir, "nope"), "--addr", "127.0.0.1:0"}, 1, "cannot read project"},
		{"a project without parley.yaml", nil, []string{noProject, "--addr", "127.0.0.1:0"}, 1, "missing project file"},
		{"a config file that does not exist", nil, []string{"--config", filepath.Join(dir, "none.yaml")}, 1, "config file: open"},
		{"flags after the directory are read", nil, []string{noProject, "--addr", "127.0.0.1:99999"}, 2, `port "99999"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"PARLEY_HTTP_ADDR", "PARLEY_LOG_LEVEL", "PARLEY_CONFIG", "PARLEY_FLOWS"} {
				t.Setenv(k, tc.env[k])
			}
			t.Setenv("PARLEY_DB", db)
			var out, errOut bytes.Buffer
			code := runServe(tc.args, IO{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut})
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, errOut.String())
			}
			if !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("stderr does not say %q:\n%s", tc.want, errOut.String())
			}
			if s := errOut.String(); strings.Contains(s, "panic") || strings.Contains(s, "goroutine ") {
				t.Errorf("a panic reached the user:\n%s", s)
			}
			if lines := strings.Count(strings.TrimSpace(errOut.String()), "\n") + 1; lines > 3 {
				t.Errorf("%d lines for one start-up failure:\n%s", lines, errOut.String())
			}
		})
	}
}

// An empty settings file keeps the defaults instead of zeroing them.
func TestEmptyConfigFileKeepsDefaults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "server.yaml")
	os.WriteFile(path, []byte("\n# nothing yet\n"), 0o644)
	cfg := defaultConfig()
	if err := loadConfigFile(&cfg, path); err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPAddr != defaultConfig().HTTPAddr || cfg.DB != defaultConfig().DB {
		t.Errorf("defaults lost: %+v", cfg)
	}
}
