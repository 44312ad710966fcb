package cmd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing/fstest"

	"github.com/rs/zerolog"

	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/flows/demo"
	"github.com/parley-chat/parley/handoff"
	"github.com/parley-chat/parley/handoff/analytics"
)

// projectTeacher is the console's misses inbox writing into the served
// project (handoff.Teacher): the edit is made on faq.yaml's text
// (flows.AddExample, flows.AddFAQEntry), the project with it passes the
// checks of `parley lint` before the file is replaced, and the linted
// project is swapped in at once, as the flow watcher would do a moment
// later for the same file.
type projectTeacher struct {
	dir     string // "" serves the built-in demo, which cannot be changed
	log     zerolog.Logger
	current func() *flows.Project
	reload  func(*flows.Project)
	// mu is held from reading faq.yaml to the swap: one change at a time,
	// each on the file the last one wrote, and the flow watcher's reload
	// (which takes it too) never swaps an older read in after it.
	mu sync.Locker
}

const demoReadOnly = "the server runs the built-in demo project, which cannot be changed: write it out with `parley init DIR` and serve it with `parley serve --flows DIR`"

func (t *projectTeacher) readFAQ() ([]byte, error) {
	if t.dir == "" {
		return fs.ReadFile(demo.FS(), flows.FAQFile)
	}
	b, err := os.ReadFile(filepath.Join(t.dir, flows.FAQFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

func (t *projectTeacher) KnowledgeBase() (handoff.KnowledgeBase, error) {
	src, err := t.readFAQ() // the file is replaced by a rename: no lock needed to read it whole
	if err != nil {
		return handoff.KnowledgeBase{}, err
	}
	p := t.current()
	kb := handoff.KnowledgeBase{Editable: t.dir != "", Languages: []string{p.DefaultLang}}
	for _, l := range p.Languages {
		if !slices.Contains(kb.Languages, l) {
			kb.Languages = append(kb.Languages, l)
		}
	}
	if t.dir == "" {
		kb.Why = demoReadOnly
	}
	if len(src) == 0 {
		return kb, nil
	}
	items, err := flows.KnowledgeBase(src)
	if err != nil {
		return kb, fmt.Errorf("%s: %w", flows.FAQFile, err)
	}
	for _, it := range items {
		kb.Items = append(kb.Items, handoff.KBItem(it))
	}
	return kb, nil
}

func (t *projectTeacher) Understand(text string) analytics.Recheck {
	u := t.current().Understand(text)
	return analytics.Recheck{Kind: u.Kind, ID: u.ID, Score: u.Score, OOS: u.OOS, Answered: u.Direct}
}

func (t *projectTeacher) Teach(ctx context.Context, req handoff.TeachRequest) (handoff.TeachResult, error) {
	if t.dir == "" {
		return handoff.TeachResult{}, &handoff.TeachRefused{Msg: demoReadOnly}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	src, err := t.readFAQ()
	if err != nil {
		return handoff.TeachResult{}, err
	}
	var edited []byte
	switch {
	case req.Target != nil:
		if len(src) == 0 {
			return handoff.TeachResult{}, &handoff.TeachRefused{Msg: "the project has no " + flows.FAQFile + " to add to: start a new FAQ entry"}
		}
		edited, err = flows.AddExample(src, req.Target.Kind, req.Target.ID, req.Lang, req.Text)
	case req.New != nil:
		edited, err = flows.AddFAQEntry(src, flows.NewFAQEntry(*req.New))
	}
	if err != nil {
		return handoff.TeachResult{}, &handoff.TeachRefused{Msg: err.Error()}
	}
	fsys := overlayFS{FS: os.DirFS(t.dir), name: flows.FAQFile, data: edited}
	p, err := flows.LoadFS(fsys)
	if problems := lintProject(fsys, p, err); len(problems) > 0 {
		msgs := make([]string, len(problems))
		for i, e := range problems {
			msgs[i] = e.Error()
		}
		return handoff.TeachResult{}, &handoff.TeachRefused{Msg: "the change fails `parley lint` and was not saved", Problems: msgs}
	}
	if err := writeFileAtomic(filepath.Join(t.dir, flows.FAQFile), edited); err != nil {
		return handoff.TeachResult{}, err
	}
	t.log.Info().Str("version", p.Version).Msg("flows reloaded after a change from the misses inbox")
	logWarnings(t.log, p)
	t.reload(p)
	return handoff.TeachResult{File: flows.FAQFile, Version: p.Version}, nil
}

// overlayFS is the project directory with one file's text replaced: the
// project as it would be with the change, linted before it is written.
type overlayFS struct {
	fs.FS
	name string
	data []byte
}

func (o overlayFS) Open(name string) (fs.File, error) {
	if name == o.name {
		return fstest.MapFS{name: &fstest.MapFile{Data: o.data, Mode: 0o644}}.Open(name)
	}
	return o.FS.Open(name)
}

// writeFileAtomic replaces path by data through a file renamed over it, so
// the watcher and a reader never see half a file; the mode is kept.
func writeFileAtomic(path string, data []byte) error {
	mode := fs.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("cannot write the project: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, mode)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return nil
}
