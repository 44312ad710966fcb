// Package pgtest finds a PostgreSQL server for tests and gives each test its
// own throwaway database on it.
//
// The server is, in this order: $PARLEY_TEST_POSTGRES (a connection URL with
// rights to create databases, or "private" to force the next choice); the
// project machines' server on 127.0.0.1:5432 (user postgres, trust); else a
// private server started from the installed PostgreSQL binaries
// (initdb + pg_ctl on a temporary directory and a free port), stopped when
// the test binary ends (call Main from TestMain). Without any of them the
// test fails with a message that says how to get one: never a silent skip.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Env names the variable that points tests at a server.
const Env = "PARLEY_TEST_POSTGRES"

// localURL is the server the project's machines start before every session.
const localURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

var (
	once      sync.Once
	serverURL string
	serverErr error
	private   *Server
)

// Main runs the tests, then drops the database Schema used and stops a
// private server if one was started. Use it as:
// func TestMain(m *testing.M) { pgtest.Main(m) }.
func Main(m *testing.M) {
	mainRuns = true
	code := m.Run()
	if shared.name != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := exec1(ctx, serverURL, "DROP DATABASE IF EXISTS "+shared.name+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: drop database %s: %v\n", shared.name, err)
		}
		cancel()
	}
	if private != nil {
		private.Stop()
	}
	os.Exit(code)
}

// shared is the database of the test binary, where Schema makes a schema
// per test: CREATE DATABASE costs a checkpoint (a second or more on a busy
// server), a schema milliseconds.
// mainRuns is set by Main: only then is there someone to drop the shared
// database.
var mainRuns bool

var shared struct {
	mu   sync.Mutex
	name string
	url  string
}

// ServerURL returns an administrative URL of the server tests use, finding
// or starting it on first use.
func ServerURL() (string, error) {
	once.Do(func() { serverURL, serverErr = discover() })
	return serverURL, serverErr
}

func discover() (string, error) {
	env := os.Getenv(Env)
	if env != "" && env != "private" {
		if err := ping(env); err != nil {
			return "", fmt.Errorf("pgtest: $%s=%s does not answer: %v", Env, redact(env), err)
		}
		return env, nil
	}
	if env == "" {
		if err := ping(localURL); err == nil {
			return localURL, nil
		}
	}
	s, err := StartPrivate()
	if err != nil {
		return "", fmt.Errorf("pgtest: no PostgreSQL for the tests: nothing answers on 127.0.0.1:5432 and "+
			"a private server could not be started (%v). Install one (apt-get install postgresql, then "+
			"pg_ctlcluster --skip-systemctl-redirect 15 main start) or set %s=postgres://user@host:port/db", err, Env)
	}
	private = s
	return s.URL, nil
}

// DB creates a database of its own for the test, dropped at cleanup, and
// returns its URL.
func DB(t testing.TB) string {
	t.Helper()
	admin, err := ServerURL()
	if err != nil {
		t.Fatal(err)
	}
	name := "parley_test_" + randomHex(6)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := exec1(ctx, admin, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// FORCE ends connections a failed test left open (PostgreSQL 13+).
		if err := exec1(ctx, admin, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// Schema creates a schema of its own for the test, in a database shared by
// the test binary (created on first use, dropped by Main), and returns a
// URL whose search_path is that schema. Tables, sequences and functions the
// test creates go there; cleanup drops the schema.
func Schema(t testing.TB) string {
	t.Helper()
	if !mainRuns {
		t.Fatal("pgtest.Schema needs pgtest.Main in the package's TestMain (it drops the shared database); use pgtest.DB instead")
	}
	admin, err := ServerURL()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	shared.mu.Lock()
	if shared.name == "" {
		name := "parley_test_" + randomHex(6)
		if err := exec1(ctx, admin, "CREATE DATABASE "+name); err != nil {
			shared.mu.Unlock()
			t.Fatalf("pgtest: create database: %v", err)
		}
		u, _ := url.Parse(admin)
		u.Path = "/" + name
		shared.name, shared.url = name, u.String()
	}
	dbURL := shared.url
	shared.mu.Unlock()
	schema := "t_" + randomHex(6)
	if err := exec1(ctx, dbURL, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("pgtest: create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := exec1(ctx, dbURL, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("pgtest: drop schema %s: %v", schema, err)
		}
	})
	u, _ := url.Parse(dbURL)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func exec1(ctx context.Context, dsn, sql string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

func ping(dsn string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return exec1(ctx, dsn, "SELECT 1")
}

// Server is a private PostgreSQL server on a temporary directory.
type Server struct {
	URL  string
	dir  string
	bin  string
	cred *syscall.Credential
	proc *os.Process
	done chan struct{} // closed when the server process has exited
}

// StartPrivate initialises a cluster in a temporary directory and starts it
// on a free loopback port. PostgreSQL refuses to run as root, so as root it
// runs as the system's postgres user. The server is a child of this process
// that the kernel kills when the process ends (a crashed or killed test
// binary leaves no server behind; its directory is removed by the next
// StartPrivate).
func StartPrivate() (*Server, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	removeStale()
	dir, err := os.MkdirTemp("", "parley-pg-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, bin: bin, done: make(chan struct{})}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root and no postgres user to run the server as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := s.run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, lastLines(out))
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	started := make(chan error, 1)
	go func() {
		// Pdeathsig follows the thread that started the child: keep this
		// goroutine on its thread for the server's life.
		runtime.LockOSThread()
		cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port), "-k", dir,
			"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=200")
		cmd.Dir, cmd.Stdout, cmd.Stderr = dir, logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Credential: s.cred}
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		s.proc = cmd.Process
		started <- nil
		_ = cmd.Wait()
		logf.Close()
		close(s.done)
	}()
	if err := <-started; err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start postgres: %v", err)
	}
	s.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := ping(s.URL)
		if err == nil {
			return s, nil
		}
		select {
		case <-s.done:
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			os.RemoveAll(dir)
			return nil, fmt.Errorf("postgres exited: %s", lastLines(log))
		default:
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("postgres did not answer within a minute: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop stops the server (fast shutdown) and removes its directory.
func (s *Server) Stop() {
	_ = s.proc.Signal(syscall.SIGINT)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.proc.Kill()
		<-s.done
	}
	os.RemoveAll(s.dir)
}

// removeStale removes the directories of private servers whose process is
// gone (killed with their test binary).
func removeStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "parley-pg-*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "data", "postmaster.pid"))
		if err == nil {
			line, _, _ := strings.Cut(string(b), "\n")
			if pid, err := strconv.Atoi(strings.TrimSpace(line)); err == nil && syscall.Kill(pid, 0) == nil {
				continue
			}
		} else if fi, err := os.Stat(d); err != nil || time.Since(fi.ModTime()) < time.Hour {
			continue // being set up by another test binary
		}
		os.RemoveAll(d)
	}
}

func (s *Server) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.Dir = s.dir
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	return cmd.CombinedOutput()
}

// findBin returns the newest /usr/lib/postgresql/N/bin with initdb, or the
// directory of an initdb on $PATH.
func findBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	if len(dirs) > 0 {
		return filepath.Dir(dirs[0]), nil
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("no initdb in /usr/lib/postgresql/*/bin or on $PATH")
}

func version(p string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(p))))
	return n
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func lastLines(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-5):], " | ")
}

// redact hides a password in a URL.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
