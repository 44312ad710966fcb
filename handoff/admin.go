package handoff

import (
	"net/http"
	"time"
)

// backupWriteTimeout replaces the server's WriteTimeout (60 s in parley
// serve) for a hot backup: the whole file goes out in one answer. It is
// still bounded, because the backup is one read transaction, and a read
// transaction left open blocks writers that must grow the file.
const backupWriteTimeout = 30 * time.Minute

// backupSource is a store that can stream a consistent hot copy of itself
// (store.DB.ServeBackup).
type backupSource interface {
	ServeBackup(w http.ResponseWriter, r *http.Request)
}

func (s *Service) adminRoutes() []route {
	return []route{{"GET", "/api/admin/backup", false, s.apiBackup}}
}

// apiBackup answers GET /api/admin/backup with a hot copy of the database,
// for admins only: the file holds every conversation.
func (s *Service) apiBackup(w http.ResponseWriter, r *http.Request) {
	if sessionFrom(r).agent.Role != RoleAdmin {
		writeErr(w, http.StatusForbidden, "backups are for admins")
		return
	}
	src, ok := storeAs[backupSource](s, w, "this store cannot stream a backup")
	if !ok {
		return
	}
	if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(backupWriteTimeout)); err != nil {
		s.log.Debug().Err(err).Msg("backup: write deadline not extended")
	}
	s.log.Info().Str("agent", sessionFrom(r).agentID).Msg("hot backup taken")
	w.Header().Set("Content-Disposition", `attachment; filename="parley-backup.db"`)
	src.ServeBackup(w, r)
}
