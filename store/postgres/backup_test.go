package postgres_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parley-chat/parley/store/postgres"
)

// A backup request says, in one line, to use PostgreSQL's own tools.
func TestBackupSaysWhatToUse(t *testing.T) {
	db := open(t, postgres.Options{})
	if _, err := db.Backup(io.Discard); !errors.Is(err, postgres.ErrNoBackup) {
		t.Errorf("Backup: %v, want ErrNoBackup", err)
	}
	if _, err := db.BackupToFile(t.TempDir() + "/x.db"); !errors.Is(err, postgres.ErrNoBackup) {
		t.Errorf("BackupToFile: %v, want ErrNoBackup", err)
	}
	srv := httptest.NewServer(http.HandlerFunc(db.ServeBackup))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusNotImplemented || !strings.Contains(string(body), "pg_dump") || strings.Count(string(body), "\n") != 1 {
		t.Errorf("GET backup: %d %q", resp.StatusCode, body)
	}
}
