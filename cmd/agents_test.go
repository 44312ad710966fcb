package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/parley-chat/parley/store"
)

// consoleLogin signs in over HTTP and returns the session cookie and what
// /api/login answered.
func consoleLogin(t *testing.T, base, name, password string) (*http.Cookie, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"name": name, "password": password})
	res, err := http.Post(base+"/api/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var me map[string]any
	json.NewDecoder(res.Body).Decode(&me)
	if res.StatusCode != 200 || len(res.Cookies()) == 0 {
		t.Fatalf("login %s = %d %v", name, res.StatusCode, me)
	}
	return res.Cookies()[0], me
}

func getStatus(t *testing.T, url string, c *http.Cookie) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.AddCookie(c)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// The password `parley agents add` prints opens a session that must change
// it first; one given on stdin works as is.
func TestAgentsAddPasswordsAtTheConsole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	var out, errOut bytes.Buffer
	if code := Run([]string{"agents", "add", "anna", "--role", "agent", "--db", path}, IO{Stdout: &out, Stderr: &errOut}); code != 0 {
		t.Fatalf("agents add anna = %d: %s", code, errOut.String())
	}
	m := regexp.MustCompile(`(?m)^one-time password: (\S+)$`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no password printed:\n%s", out.String())
	}
	generated := m[1]
	stdin := strings.NewReader("bob's chosen password\n")
	if code := Run([]string{"agents", "add", "bob", "--role", "agent", "--password-stdin", "--db", path}, IO{Stdin: stdin, Stdout: &out, Stderr: &errOut}); code != 0 {
		t.Fatalf("agents add bob = %d: %s", code, errOut.String())
	}

	s, _ := startServer(t, func(c *Config) { c.DB = path })
	base := "http://" + s.addr
	anna, me := consoleLogin(t, base, "anna", generated)
	if me["password_change_required"] != true {
		t.Errorf("anna signed in with the printed password: me = %v, want password_change_required", me)
	}
	if code := getStatus(t, base+"/api/queue", anna); code != http.StatusForbidden {
		t.Errorf("anna's /api/queue before choosing a password = %d, want 403", code)
	}
	bob, me := consoleLogin(t, base, "bob", "bob's chosen password")
	if me["password_change_required"] != false {
		t.Errorf("bob signed in with the operator's password: me = %v", me)
	}
	if code := getStatus(t, base+"/api/queue", bob); code != http.StatusOK {
		t.Errorf("bob's /api/queue = %d, want 200", code)
	}
}

// serve --demo-agent prints a password that is one-time too.
func TestDemoAgentPasswordIsOneTime(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "parley.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out bytes.Buffer
	if err := ensureDemoAgent(context.Background(), db, IO{Stdout: &out}, 0); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`one-time password: (\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no password printed: %q", out.String())
	}
	a, err := db.AgentByName("demo")
	if err != nil {
		t.Fatal(err)
	}
	// The stored hash is the bcrypt hash after the one-time mark and times.
	hash := a.PasswordHash[bytes.LastIndexByte(a.PasswordHash, ':')+1:]
	if !a.PasswordOneTime || bcrypt.CompareHashAndPassword(hash, []byte(m[1])) != nil {
		t.Errorf("demo agent: one-time %v; the printed password must match the stored hash", a.PasswordOneTime)
	}
	// A second start prints no password, but says until when the printed
	// one works, and once it expired, how to get a new one.
	out.Reset()
	if err := ensureDemoAgent(context.Background(), db, IO{Stdout: &out}, 0); err != nil || !strings.Contains(out.String(), "works until") {
		t.Errorf("second run: %v, printed %q", err, out.String())
	}
	out.Reset()
	if err := ensureDemoAgent(context.Background(), db, IO{Stdout: &out}, time.Nanosecond); err != nil ||
		!strings.Contains(out.String(), "expired") || !strings.Contains(out.String(), "parley agents add demo --role lead --reset --db "+db.Path()) {
		t.Errorf("run after the password expired: %v, printed %q", err, out.String())
	}
}
