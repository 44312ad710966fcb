package cmd

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/term"

	"github.com/parley-chat/parley/bot"
	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/handoff"
)

// runChat talks to a project's bot in the terminal, through the same durable
// runtime `serve` uses, so what a lead sees here is what customers get.
func runChat(args []string, stdio IO) int {
	fs := newFlagSet("chat", stdio)
	dbPath := fs.String("db", "./data/chat.db", "database file; the conversation continues across runs")
	ch := fs.String("channel", "web", "channel to pretend to be: web, telegram or vk")
	as := fs.String("as", "terminal", "customer id on that channel")
	asJSON := fs.Bool("json", false, "print one JSON object per output")
	name := fs.String("name", "", "customer display name")
	lang := fs.String("lang", "", "customer language as the channel would report it (ru, en)")
	fresh := fs.Bool("new", false, "start a new conversation: forget this customer in --db first")
	record := fs.String("record", "", "when the input ends, write the conversation to `FILE`, a new file, as a parley test case (starts a new conversation)")
	debug := fs.Bool("debug", false, "show per message what the bot understood: language, intent and score, FAQ entry, sentiment and its evidence, the trigger, escalation and branches taken")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) > 1 {
		fmt.Fprintln(stdio.Stderr, "usage: parley chat [DIR] [--db FILE] [--channel web|telegram|vk] [--as CONTACT] [--new] [--record FILE] [--debug] [--json]")
		return 2
	}
	dir := ""
	if len(pos) == 1 {
		dir = pos[0]
	}
	if !channel.Name(*ch).Valid() || channel.Name(*ch).OutboundOnly() {
		fmt.Fprintf(stdio.Stderr, "parley chat: --channel %q: want web, telegram or vk\n", *ch)
		return 2
	}
	var rec *recorder
	if *record != "" {
		if err := checkRecordFile(*record); err != nil {
			fmt.Fprintf(stdio.Stderr, "parley chat: %v\n", err)
			return 2
		}
		// A test starts from the beginning, so the recording does too.
		rec, *fresh = &recorder{channel: *ch, name: *name, lang: *lang}, true
	}
	project, err := loadProject(dir)
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "parley chat: %v\n", err)
		return 1
	}
	db, err := openStoreFor("chat", *dbPath, false)
	if err != nil {
		fmt.Fprintln(stdio.Stderr, err)
		return 1
	}
	defer db.Close()
	ctx := context.Background()
	from := channel.Address{Channel: channel.Name(*ch), ID: *as}
	p := &chatPrinter{w: stdio.Stdout, json: *asJSON, rec: rec}
	if c, err := db.ContactByIdentity(from.String()); err == nil {
		_, p.queued, _ = db.OpenTicketFor(c.ID)
		if *fresh {
			p.queued = false
			if _, err := db.ForgetContact(ctx, c.ID, "parley chat --new"); err != nil {
				fmt.Fprintf(stdio.Stderr, "parley chat: --new: %v\n", err)
				return 1
			}
		} else {
			// Said on stderr, so --json output stays one object per line.
			where := ""
			if p.queued {
				where = ", waiting in the human queue"
			}
			fmt.Fprintf(stdio.Stderr, "parley chat: continuing the conversation of %s from %s%s (--new starts over)\n", from, *dbPath, where)
		}
	}

	logger := zerolog.New(stdio.Stderr).Level(zerolog.WarnLevel)
	// Secrets and the http node's allowed internal networks as serve reads
	// them from the environment (PARLEY_SECRETS_FILE, PARLEY_SECRET_*,
	// PARLEY_FLOW_HTTP_ALLOW_NETWORKS), so a flow that calls a service on the
	// lead's own network behaves in chat as it does when served.
	opts, err := engineOptions(FlowHTTPConfig{SecretsFile: os.Getenv("PARLEY_SECRETS_FILE"),
		AllowNetworks: splitList(os.Getenv("PARLEY_FLOW_HTTP_ALLOW_NETWORKS"))})
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "parley chat: %v\n", err)
		return 2
	}
	if rec != nil {
		opts.HTTP = rec.doer(opts.HTTP)
	}
	// Flows read the queue's business hours (`hours.open`); hs is made
	// below, before any turn runs.
	var hs *handoff.Service
	opts.Hours = func(at time.Time) (bool, time.Time) { return hs.HoursAt(at) }
	rt := bot.New(bot.Config{
		Logger:  logger,
		Observe: func(_ string, outs []flows.Output) { p.observe(outs) },
		Typing:  map[channel.Name]bool{},
		Debug:   *debug,
	}, db, project.NewEngine(opts), chatSender{name: channel.Name(*ch), p: p})
	// The human queue as in serve, so a handoff shows what the customer
	// would be told (position, wait, out of hours) and later messages go to
	// the ticket instead of the bot.
	// The project's handoff: section words them; the server's settings
	// file is not read here.
	hcfg, _, err := projectHandoffConfig(defaultConfig().Handoff, project)
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "parley chat: %v\n", err)
		return 1
	}
	hs, err = handoff.New(db, hcfg, rt, logger)
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "parley chat: %v\n", err)
		return 1
	}
	defer hs.Close()
	rt.SetHandoff(hs)
	if err := rt.Start(ctx); err != nil {
		fmt.Fprintf(stdio.Stderr, "parley chat: %v\n", err)
		return 1
	}
	defer rt.Shutdown(ctx)

	interactive := false
	if f, ok := stdio.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) && !*asJSON {
		interactive = true
		fmt.Fprintf(stdio.Stdout, "Chatting with %q as %s:%s. Type a message, a button number, or /quit.\n", project.Name, *ch, *as)
	}
	sc := bufio.NewScanner(stdio.Stdin)
	sc.Buffer(make([]byte, 64*1024), 64*1024)
	seq := time.Now().UnixNano()
	recordStopped := false
	for {
		if interactive {
			fmt.Fprint(stdio.Stdout, "> ")
		}
		if !sc.Scan() {
			break
		}
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if line == "/quit" || line == "/exit" {
			break
		}
		seq++
		if !interactive && !*asJSON {
			// Piped: show what the customer said, so the transcript reads
			// as a conversation.
			p.customer(line)
		}
		in := channel.Inbound{From: from, EventID: fmt.Sprintf("chat:%d", seq), Text: line, Name: *name, Lang: *lang}
		b, isButton := p.button(line)
		if isButton {
			in.Text, in.Payload = b.Text, b.Value
		}
		if rec != nil && !rec.line(line, b.Text) && !recordStopped {
			recordStopped = true
			fmt.Fprintf(stdio.Stderr, "parley chat: --record: the test ends at the handoff (a test hands the conversation back to the bot at once); later lines are not recorded\n")
		}
		if err := rt.HandleInbound(ctx, in); err != nil {
			fmt.Fprintf(stdio.Stderr, "parley chat: %v\n", err)
			return 1
		}
		fctx, cancel := context.WithTimeout(ctx, time.Minute)
		err := rt.Flush(fctx)
		cancel()
		if err != nil {
			fmt.Fprintf(stdio.Stderr, "parley chat: waiting for the bot: %v\n", err)
			return 1
		}
		p.endTurn()
	}
	if err := sc.Err(); err != nil && err != io.EOF {
		fmt.Fprintf(stdio.Stderr, "parley chat: reading input: %v\n", err)
		return 1
	}
	if rec != nil {
		if err := rec.write(*record); err != nil {
			fmt.Fprintf(stdio.Stderr, "parley chat: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdio.Stderr, "parley chat: recorded %d turns as a test in %s; run it with: parley test %s\n", len(rec.turns), *record, projectArg(dir))
	}
	return 0
}

// chatPrinter shows a turn as the customer sees it: the messages the
// channel delivered (the bot's, the queue's notices, an agent's), in order,
// and after them what else the turn did (a handoff, contact fields, the
// end). With --json each is one object per line, for scripts.
type chatPrinter struct {
	w    io.Writer
	json bool
	mu   sync.Mutex
	last []flows.Button // buttons of the last message, answerable by number
	sent []channel.Outbound
	outs []flows.Output
	// queued is set once a handoff happened: later silence is the queue's.
	queued bool
	rec    *recorder // --record, or nil
}

type chatLine struct {
	Type     string            `json:"type"`
	Text     string            `json:"text,omitempty"`
	Buttons  []flows.Button    `json:"buttons,omitempty"`
	Image    string            `json:"image,omitempty"`
	Sender   string            `json:"sender,omitempty"`
	Reason   string            `json:"reason,omitempty"`
	Priority string            `json:"priority,omitempty"`
	Evidence []string          `json:"evidence,omitempty"`
	Fields   map[string]string `json:"fields,omitempty"`
	Trace    *flows.Trace      `json:"trace,omitempty"`
}

// observe keeps a committed turn's engine outputs until the turn is shown.
func (p *chatPrinter) observe(outs []flows.Output) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.outs = append(p.outs, outs...)
}

// delivered keeps a message the channel accepted.
func (p *chatPrinter) delivered(o channel.Outbound) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent = append(p.sent, o)
}

// customer echoes the customer's line (piped input is not on the screen).
func (p *chatPrinter) customer(line string) {
	fmt.Fprintf(p.w, "you: %s\n", strings.ReplaceAll(line, "\n", "\n     "))
}

// endTurn prints the turn: the delivered messages, then the rest.
func (p *chatPrinter) endTurn() {
	p.mu.Lock()
	defer p.mu.Unlock()
	links := map[string]bool{}
	for _, o := range p.outs {
		if o.Kind == flows.LinkCode {
			links[o.Text] = true
		}
	}
	var lines []chatLine
	for _, o := range p.outs {
		if o.Kind == flows.Debug && o.Trace != nil {
			lines = append(lines, chatLine{Type: "debug", Trace: o.Trace})
		}
	}
	for _, o := range p.sent {
		l := chatLine{Type: "say", Text: o.Text, Image: o.Image, Sender: o.Sender}
		if links[o.Text] {
			l.Type = "link" // a link node's message, its code included
		}
		for _, b := range o.Buttons {
			l.Buttons = append(l.Buttons, flows.Button{Text: b.Text, Value: b.Value})
		}
		lines = append(lines, l)
	}
	for _, o := range p.outs {
		switch o.Kind {
		case flows.Handoff:
			if o.Handoff != nil {
				lines = append(lines, chatLine{Type: "handoff", Reason: o.Handoff.Reason, Priority: o.Handoff.Priority, Evidence: o.Handoff.Evidence})
			}
		case flows.SetContact:
			lines = append(lines, chatLine{Type: "contact", Fields: o.Fields})
		case flows.End:
			lines = append(lines, chatLine{Type: "end"})
		}
	}
	if len(p.sent) > 0 {
		p.last = nil // a number answers only the buttons of the latest turn
	}
	for _, l := range lines {
		if len(l.Buttons) > 0 {
			p.last = l.Buttons
		}
		if p.json {
			b, _ := json.Marshal(l)
			fmt.Fprintf(p.w, "%s\n", b)
			continue
		}
		p.human(l)
	}
	for _, o := range p.outs {
		if o.Kind == flows.Handoff {
			p.queued = true
		}
	}
	if !p.json {
		if len(lines) == 0 && p.queued {
			fmt.Fprintln(p.w, "[no reply: the message joined the ticket in the human queue; an agent answers from the console]")
		}
		fmt.Fprintln(p.w) // a blank line ends the turn
	}
	if p.rec != nil {
		p.rec.outputs(p.outs)
	}
	p.sent, p.outs = nil, nil
}

func (p *chatPrinter) human(l chatLine) {
	switch l.Type {
	case "say", "link":
		who := "bot"
		if l.Sender != "" {
			who = l.Sender
		}
		fmt.Fprintf(p.w, "%s: %s\n", who, strings.ReplaceAll(l.Text, "\n", "\n     "))
		if l.Image != "" {
			fmt.Fprintf(p.w, "     [image %s]\n", l.Image)
		}
		for i, b := range l.Buttons {
			fmt.Fprintf(p.w, "     %d. %s\n", i+1, b.Text)
		}
	case "handoff":
		fmt.Fprintf(p.w, "[handed to a human: %s", l.Reason)
		if len(l.Evidence) > 0 {
			fmt.Fprintf(p.w, " (%s)", strings.Join(l.Evidence, ", "))
		}
		fmt.Fprintln(p.w, "]")
	case "end":
		fmt.Fprintln(p.w, "[conversation ended]")
	case "debug":
		for _, l := range traceLines(l.Trace) {
			fmt.Fprintf(p.w, "  · %s\n", l)
		}
	}
}

// traceLines renders what the bot understood of a message for a person
// tuning the project, one aspect a line.
func traceLines(t *flows.Trace) []string {
	var out []string
	lang := t.Lang
	if lang == "" {
		lang = "unsure"
	}
	out = append(out, fmt.Sprintf("language %s, replies in %s", lang, t.ReplyLang))
	if t.Intent != "" {
		l := fmt.Sprintf("intent %s %.2f", t.Intent, t.Score)
		if t.OutOfScope {
			l += " (out of scope)"
		}
		var alt []string
		for _, s := range t.Top {
			if s.Label != t.Intent {
				alt = append(alt, fmt.Sprintf("%s %.2f", s.Label, s.Score))
			}
		}
		if len(alt) > 0 {
			l += "; then " + strings.Join(alt, ", ")
		}
		if t.FAQ != "" {
			l += "; faq " + t.FAQ
		}
		out = append(out, l)
	}
	if len(t.Explain) > 0 {
		out = append(out, "because: "+strings.Join(t.Explain, ", "))
	}
	l := fmt.Sprintf("sentiment %.2f", t.Sentiment)
	if t.Negative {
		l += " negative"
	}
	if len(t.SentimentEvidence) > 0 {
		l += " (" + strings.Join(t.SentimentEvidence, ", ") + ")"
	}
	out = append(out, l)
	if t.HumanRequested {
		out = append(out, "asks for a person ("+strings.Join(t.HumanEvidence, ", ")+")")
	}
	if t.Trigger != "" {
		out = append(out, "trigger "+t.Trigger)
	}
	if t.Escalation != "" {
		out = append(out, "escalation "+t.Escalation)
	}
	for _, b := range t.Branches {
		out = append(out, fmt.Sprintf("at %s: %s -> %s", b.Node, b.If, b.Goto))
	}
	if len(t.Nodes) > 0 {
		out = append(out, "nodes "+strings.Join(t.Nodes, " > "))
	}
	if len(t.Answered) > 0 {
		out = append(out, "answered from faq "+strings.Join(t.Answered, ", "))
	}
	for _, e := range t.Errors {
		out = append(out, "error at "+e)
	}
	return out
}

// button maps an answer like "2" to the second button last shown.
func (p *chatPrinter) button(line string) (flows.Button, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var n int
	if _, err := fmt.Sscanf(line, "%d", &n); err != nil || fmt.Sprint(n) != line {
		return flows.Button{}, false
	}
	if n < 1 || n > len(p.last) {
		return flows.Button{}, false
	}
	return p.last[n-1], true
}

// chatSender is the terminal's channel: what the runtime delivers is what
// the customer would see, so the printer shows exactly that.
type chatSender struct {
	name channel.Name
	p    *chatPrinter
}

func (c chatSender) Channel() channel.Name { return c.name }

func (c chatSender) Send(_ context.Context, o channel.Outbound) error {
	c.p.delivered(o)
	return nil
}

// projectArg names the project for a command to suggest.
func projectArg(dir string) string {
	if dir == "" {
		return "DIR (the embedded demo: parley init DIR first)"
	}
	return dir
}
