package cmd

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/rs/zerolog"

	"github.com/parley-chat/parley/flows"
)

// watchFlows reloads the project in dir when its files change. A version
// that lints clean is handed to swap; one that does not is refused with every
// error logged, and the running version keeps serving. Editors save by
// rename, so the directories are watched, not the files, and events are
// debounced. lock is held from reading the files to the swap, so a change
// from the misses inbox (which holds it while it writes and swaps) is
// never followed by the swap of an older read.
func watchFlows(ctx context.Context, dir string, log zerolog.Logger, lock sync.Locker, swap func(*flows.Project)) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		log.Error().Err(err).Msg("flow watcher not started")
		return
	}
	defer w.Close()
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && p != dir {
				return filepath.SkipDir
			}
			return w.Add(p)
		}
		return err
	})
	if err != nil {
		log.Error().Err(err).Msg("flow watcher not started")
		return
	}
	const debounce = 200 * time.Millisecond
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case err := <-w.Errors:
			log.Warn().Err(err).Msg("flow watcher")
		case ev := <-w.Events:
			if ev.Has(fsnotify.Create) {
				// A new sub-directory: watch it too (ignored if it is a file).
				_ = w.Add(ev.Name)
			}
			timer.Reset(debounce)
		case <-timer.C:
			lock.Lock()
			p, err := flows.LoadDir(dir)
			if err == nil {
				log.Info().Str("version", p.Version).Msg("flows reloaded")
				logWarnings(log, p)
				swap(p)
			}
			lock.Unlock()
			if err != nil {
				ev := log.Error().Str("dir", dir)
				if list, ok := err.(flows.ErrorList); ok {
					msgs := make([]string, 0, len(list))
					for _, e := range list {
						msgs = append(msgs, e.Error())
					}
					ev = ev.Strs("errors", msgs)
				} else {
					ev = ev.Err(err)
				}
				ev.Msg("flow change refused; the previous version keeps serving")
			}
		}
	}
}

// logWarnings logs what lint would warn about in a project that runs (a
// text missing one of its languages), one line each.
func logWarnings(log zerolog.Logger, p *flows.Project) {
	for _, w := range p.Warnings {
		log.Warn().Str("at", fmt.Sprintf("%s:%d:%d", w.File, w.Line, w.Col)).Str("path", w.Path).Msg(w.Msg)
	}
}
