package flows_test

import (
	"context"
	"fmt"
	"time"

	"github.com/parley-chat/parley/flows"
)

// The engine is a pure step function: the runtime keeps the State it
// returns (as JSON) and delivers the outputs.
func ExampleEngine_Step() {
	p, err := flows.Compile(flows.Source{
		"parley.yaml": []byte("name: example\nstart: main\n"),
		"flows/main.yaml": []byte(`flow: main
start: ask
nodes:
  ask:
    ask: "Как вас зовут?"
    save: name
    next: hello
  hello:
    say: "Здравствуйте, {{ vars.name }}!"
`),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	e := p.NewEngine(flows.Options{})
	var st flows.State
	for _, text := range []string{"привет", "Анна"} {
		var outs []flows.Output
		st, outs, _ = e.Step(context.Background(), st, flows.Input{Text: text, Now: time.Now()})
		for _, o := range outs {
			if o.Kind == flows.Say {
				fmt.Println(o.Text)
			}
		}
	}
	// Output:
	// Как вас зовут?
	// Здравствуйте, Анна!
}
