package flows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/flows"
)

const hoursFlow = `flow: main
start: hello
nodes:
  hello:
    branch:
      - if: hours.open
        goto: open
    else: closed
  open:
    say: "Соединяю с оператором."
  closed:
    say: 'Поддержка вернётся в {{ hours.opens_at.Format("15:04") }}.'
`

// Flows read the team's business hours as the engine's Options.Hours
// gives them (the human queue's, in the server): hours.open, and
// hours.opens_at when closed. Without Options.Hours the team is always in.
func TestFlowsReadHours(t *testing.T) {
	p := compile(t, map[string]string{"parley.yaml": "name: h\nstart: main\n", "flows/main.yaml": hoursFlow})
	msk := time.FixedZone("MSK", 3*3600)
	nine := time.Date(2027, 3, 2, 9, 0, 0, 0, msk)
	closedUntilNine := func(at time.Time) (bool, time.Time) {
		if at.Before(nine) {
			return false, nine
		}
		return true, time.Time{}
	}
	ctx := context.Background()
	say := func(opts flows.Options, at time.Time) string {
		t.Helper()
		_, outs, err := p.NewEngine(opts).Step(ctx, flows.State{}, flows.Input{Text: "привет", Channel: "web", Now: at})
		if err != nil {
			t.Fatal(err)
		}
		return says(outs)
	}
	if got := say(flows.Options{Hours: closedUntilNine}, nine.Add(-3*time.Hour)); !strings.Contains(got, "Поддержка вернётся в 09:00.") {
		t.Errorf("closed: %q", got)
	}
	if got := say(flows.Options{Hours: closedUntilNine}, nine.Add(time.Hour)); !strings.Contains(got, "Соединяю") {
		t.Errorf("open: %q", got)
	}
	if got := say(flows.Options{}, nine.Add(-3*time.Hour)); !strings.Contains(got, "Соединяю") {
		t.Errorf("without hours: %q, want always open", got)
	}

	_, err := flows.Compile(flows.Source{"parley.yaml": []byte("name: h\nstart: main\n"),
		"flows/main.yaml": []byte(strings.Replace(hoursFlow, "if: hours.open", "if: hours.opn", 1))})
	if err == nil || !strings.Contains(err.Error(), "did you mean hours.open?") {
		t.Errorf("hours.opn: %v, want a did-you-mean", err)
	}
}
