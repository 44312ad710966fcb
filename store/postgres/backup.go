package postgres

import (
	"errors"
	"io"
	"net/http"
)

// ErrNoBackup: Parley does not copy a PostgreSQL database itself. The
// server's own tools do it better (consistent snapshots without holding a
// transaction in the application, point-in-time recovery), and they are
// what an operator running PostgreSQL already uses.
var ErrNoBackup = errors.New("postgres: parley does not back up a PostgreSQL database; use pg_dump --format=custom, or base backups with WAL archiving (docs/deploy.md)")

// Backup refuses with ErrNoBackup (the bbolt store's Backup writes a copy
// of its file).
func (db *DB) Backup(io.Writer) (int64, error) { return 0, ErrNoBackup }

// BackupToFile refuses with ErrNoBackup.
func (db *DB) BackupToFile(string) (int64, error) { return 0, ErrNoBackup }

// ServeBackup answers the admin backup endpoint with 501 and the one line
// saying what to use instead.
func (db *DB) ServeBackup(w http.ResponseWriter, _ *http.Request) {
	http.Error(w, ErrNoBackup.Error(), http.StatusNotImplemented)
}
