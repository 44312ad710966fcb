package flows_test

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/flows/demo"
)

// FuzzLoad compiles a project whose main flow file is fuzzed: it must
// never panic, and every error must point inside a file of the project.
// Seeds: the demo flows and every flow of the golden archives.
func FuzzLoad(f *testing.F) {
	names, _ := fs.Glob(demo.FS(), "flows/*.yaml")
	for _, n := range names {
		b, _ := fs.ReadFile(demo.FS(), n)
		f.Add(b)
	}
	for _, dir := range []string{"kinds", "engine", "errors"} {
		files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.txtar"))
		for _, path := range files {
			ar, err := txtar.ParseFile(path)
			if err != nil {
				f.Fatal(err)
			}
			for _, file := range ar.Files {
				if filepath.Dir(file.Name) == "flows" {
					f.Add(file.Data)
				}
			}
		}
	}
	f.Add([]byte("flow: main\nstart: a\nnodes:\n  a: {say: '{{ ((((( }}'}\n"))
	f.Add([]byte("- [\n\t{: ]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		src := flows.Source{
			"parley.yaml":     []byte("name: fuzz\nstart: main\nlanguages: [ru, en]\n"),
			"flows/main.yaml": data,
		}
		p, err := flows.Compile(src)
		if err == nil {
			if p.Version == "" {
				t.Fatal("compiled project without a version")
			}
			return
		}
		var list flows.ErrorList
		if !errors.As(err, &list) || len(list) == 0 {
			t.Fatalf("want a non-empty ErrorList, got %T %v", err, err)
		}
		checkPositions(t, src, list)
	})
}

// FuzzStep runs the demo engine on any stored state (old versions, edits,
// corruption) and any message: it must never panic, and the state it
// returns must be storable. Seeds: the states of a demo conversation.
func FuzzStep(f *testing.F) {
	p, err := flows.LoadFS(demo.FS())
	if err != nil {
		f.Fatal(err)
	}
	e := p.NewEngine(flows.Options{HTTP: orders{}, MaxSteps: 50})
	var st flows.State
	for _, in := range demoScript {
		st, _, _ = e.Step(context.Background(), st, in)
		b, _ := flows.MarshalState(st)
		f.Add(b, in.Text, in.Payload)
	}
	f.Add([]byte(`{"flow":"order","node":"gone","version":"x","waiting":true,"deadline":1,"stack":[{"flow":"nope","node":"n"}],"buttons":[{"text":"a","value":"b"}]}`), "1", "")
	f.Add([]byte(`{"flow":"main","node":"menu","in_handoff":true,"resume":"main.nowhere","vars":{"n":[1,{"a":null}]}}`), "/start", "human")
	f.Fuzz(func(t *testing.T, state []byte, text, payload string) {
		st, err := flows.UnmarshalState(state)
		if err != nil {
			return
		}
		next, _, err := e.Step(context.Background(), st, flows.Input{Text: text, Payload: payload})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := flows.MarshalState(next); err != nil {
			t.Fatalf("state not storable: %v", err)
		}
		_, _, _ = e.Resume(context.Background(), next, flows.Input{})
		_, _ = p.CheckState(st)
	})
}
