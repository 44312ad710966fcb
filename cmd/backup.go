package cmd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/parley-chat/parley/store"
)

// hotBackupHint tells the operator where a running server serves a hot copy.
const hotBackupHint = "take a hot copy from the running server, signed in as an admin agent:\n" +
	"  curl -fsS -c jar -H 'Content-Type: application/json' -d '{\"name\":\"NAME\",\"password\":\"...\"}' http://HOST:PORT/api/login\n" +
	"  curl -fsS -b jar -o FILE http://HOST:PORT/api/admin/backup"

// runBackup copies the database to FILE through FILE.tmp, fsync and rename,
// then verifies the copy:
//
//	parley backup FILE [--db FILE] [--timeout 1s]
//
// A running server holds the file lock: the copy is then refused with a
// pointer to the server's hot-backup endpoint, which copies consistently
// while serving (store.DB.Backup).
func runBackup(args []string, stdio IO) int {
	fs := newFlagSet("parley backup", stdio)
	dbPath := dbFlag(fs)
	timeout := fs.Duration("timeout", time.Second, "how long to wait for the database file lock")
	force := fs.Bool("force", false, "replace FILE if it exists")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 || pos[0] == "" {
		fmt.Fprintln(stdio.Stderr, "usage: parley backup FILE [--db FILE] [--timeout 1s] [--force]")
		return 2
	}
	src, dst := *dbPath, pos[0]
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stdio.Stderr, "parley backup: "+format+"\n", a...)
		return 1
	}
	si, err := statDB(src)
	if err != nil {
		return fail("%v", err)
	}
	if di, err := os.Stat(dst); err == nil {
		if os.SameFile(si, di) {
			return fail("%s is the database itself; choose another FILE", dst)
		}
		if di.IsDir() {
			return fail("%s is a directory; give a file name", dst)
		}
		if !*force {
			return fail("%s exists; choose another FILE, or add --force to replace it", dst)
		}
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return fail("%v", err)
	}
	n, err := store.BackupFile(src, dst, *timeout)
	switch {
	case errors.Is(err, store.ErrLocked):
		return fail("%s, or %s", inUse(src), hotBackupHint)
	case err != nil:
		return fail("%v", err)
	}
	verified, err := verifyCopy(dst)
	if err != nil {
		return fail("the copy %s is damaged: %v", dst, err)
	}
	fmt.Fprintf(stdio.Stdout, "backed up %s to %s (%d bytes, %s)\n", src, dst, n, verified)
	return 0
}

// verifyCopy runs the store's consistency check on the copy. A copy whose
// schema this binary does not know is still a faithful byte copy: it is
// reported as unverified rather than failed.
func verifyCopy(path string) (string, error) {
	db, err := store.Open(path, store.Options{ReadOnly: true})
	if errors.Is(err, store.ErrSchema) {
		return "not verified: " + err.Error(), nil
	}
	if err != nil {
		return "", err
	}
	defer db.Close()
	if err := db.Check(); err != nil {
		return "", err
	}
	return "verified", nil
}
