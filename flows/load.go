package flows

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/parley-chat/parley/flows/syntax"
)

// Layout of a project directory.
const (
	ProjectFile = "parley.yaml"
	FlowsDir    = "flows"
	FAQFile     = "faq.yaml"
	TestsDir    = "tests"
)

// Limits checked at load; a file beyond them is an error, not a surprise
// in production.
const (
	MaxFileSize     = 1 << 20
	MaxFlows        = 200
	MaxNodesPerFlow = 500
	MaxButtons      = 10
	MaxTextLen      = 4096 // characters, Telegram's limit for a message
	MaxButtonText   = 64
	MaxButtonValue  = 64 // bytes: Telegram's callback_data limit
)

// LoadDir loads and compiles the project in dir. The error, if any, is an
// ErrorList with every problem, sorted.
func LoadDir(dir string) (*Project, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, ErrorList{{File: dir, Msg: fmt.Sprintf("cannot read project: %v", errors.Unwrap(err))}}
	}
	if !st.IsDir() {
		return nil, ErrorList{{File: dir, Msg: "a project is a directory holding " + ProjectFile}}
	}
	return LoadFS(os.DirFS(dir))
}

// Source is the raw text of a project's files, by slash path.
type Source map[string][]byte

// ReadSource reads the project files from fsys: the project file, every
// flows/*.yaml and faq.yaml.
func ReadSource(fsys fs.FS) (Source, error) {
	src := Source{}
	var errs ErrorList
	read := func(name string) {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			errs = append(errs, &Error{File: name, Msg: fmt.Sprintf("cannot read: %v", err)})
			return
		}
		if len(b) > MaxFileSize {
			errs = append(errs, &Error{File: name, Line: 1, Col: 1, Msg: fmt.Sprintf("file is %d bytes, limit %d", len(b), MaxFileSize)})
			return
		}
		src[name] = b
	}
	if _, err := fs.Stat(fsys, ProjectFile); err != nil {
		return nil, ErrorList{{File: ProjectFile, Msg: "missing project file (name, default_lang, start flow); `parley init DIR` writes an example"}}
	}
	read(ProjectFile)
	names, err := fs.Glob(fsys, FlowsDir+"/*.yaml")
	if err != nil {
		return nil, err
	}
	more, _ := fs.Glob(fsys, FlowsDir+"/*.yml")
	names = append(names, more...)
	slices.Sort(names)
	if len(names) > MaxFlows {
		errs = append(errs, &Error{File: FlowsDir, Msg: fmt.Sprintf("%d flow files, limit %d", len(names), MaxFlows)})
		names = names[:MaxFlows]
	}
	for _, n := range names {
		read(n)
	}
	if _, err := fs.Stat(fsys, FAQFile); err == nil {
		read(FAQFile)
	}
	if len(errs) > 0 {
		return src, errs.Err()
	}
	return src, nil
}

// LoadFS loads a project whose root is the root of fsys (used for the
// embedded demo project).
func LoadFS(fsys fs.FS) (*Project, error) {
	src, err := ReadSource(fsys)
	if err != nil {
		return nil, err
	}
	return Compile(src)
}

// Compile compiles a project from its sources.
func Compile(src Source) (*Project, error) {
	r := &syntax.Reporter{}
	pf := syntax.ParseProject(r, ProjectFile, src[ProjectFile])
	var fls []*syntax.Flow
	for _, name := range sortedNames(src) {
		if strings.HasPrefix(name, FlowsDir+"/") {
			fls = append(fls, syntax.ParseFlow(r, name, src[name]))
		}
	}
	var faq *syntax.FAQ
	if b, ok := src[FAQFile]; ok {
		faq = syntax.ParseFAQ(r, FAQFile, b)
	}
	if r.Unparsed() {
		// A file that is not YAML leaves its flow unknown: compiling the
		// rest would only add "unknown flow" for every reference to it.
		return nil, r.Err()
	}
	c := newCompiler(r)
	p := c.project(pf, fls, faq)
	if err := r.Err(); err != nil {
		return nil, err
	}
	p.Version = hashSource(src)
	r.Warnings.Sort()
	p.Warnings = r.Warnings
	return p, nil
}

func sortedNames(src Source) []string {
	names := make([]string, 0, len(src))
	for n := range src {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// hashSource is the project version: a hash over every file's name and text.
func hashSource(src Source) string {
	h := sha256.New()
	for _, n := range sortedNames(src) {
		fmt.Fprintf(h, "%s\x00%d\x00", path.Clean(n), len(src[n]))
		h.Write(src[n])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
