package cmd

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
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
	"github.com/parley-chat/parley/store"
)

// runChat talks to a project's bot in the terminal, through the same durable
// runtime `serve` uses, so what a lead sees here is what customers get.
func runChat(args []string, stdio IO) int {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(stdio.Stderr)
	dbPath := fs.String("db", "./data/chat.db", "database file; the conversation continues across runs")
	ch := fs.String("channel", "web", "channel to pretend to be: web, telegram or vk")
	as := fs.String("as", "terminal", "customer id on that channel")
	asJSON := fs.Bool("json", false, "print one JSON object per output")
	name := fs.String("name", "", "customer display name")
	lang := fs.String("lang", "", "customer language as the channel would report it (ru, en)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) > 1 {
		fmt.Fprintln(stdio.Stderr, "usage: parley chat [DIR] [--db FILE] [--channel web|telegram|vk] [--as CONTACT] [--json]")
		return 2
	}
	dir := ""
	if len(pos) == 1 {
		dir = pos[0]
	}
	if !channel.Name(*ch).Valid() {
		fmt.Fprintf(stdio.Stderr, "parley chat: --channel %q: want web, telegram or vk\n", *ch)
		return 2
	}
	project, err := loadProject(dir)
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "parley chat: %v\n", err)
		return 1
	}
	db, err := store.Open(*dbPath, store.Options{})
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "parley chat: open %s: %v\n", *dbPath, err)
		return 1
	}
	defer db.Close()

	p := &chatPrinter{w: stdio.Stdout, json: *asJSON}
	rt := bot.New(bot.Config{
		Logger:  zerolog.New(stdio.Stderr).Level(zerolog.WarnLevel),
		Observe: func(_ string, outs []flows.Output) { p.print(outs) },
		Typing:  map[channel.Name]bool{},
	}, db, project.NewEngine(engineOptions()), discardSender(channel.Name(*ch)))
	ctx := context.Background()
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
	from := channel.Address{Channel: channel.Name(*ch), ID: *as}
	sc := bufio.NewScanner(stdio.Stdin)
	sc.Buffer(make([]byte, 64*1024), 64*1024)
	seq := time.Now().UnixNano()
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
		in := channel.Inbound{From: from, EventID: fmt.Sprintf("chat:%d", seq), Text: line, Name: *name, Lang: *lang}
		if b, ok := p.button(line); ok {
			in.Text, in.Payload = b.Text, b.Value
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
	}
	if err := sc.Err(); err != nil && err != io.EOF {
		fmt.Fprintf(stdio.Stderr, "parley chat: reading input: %v\n", err)
		return 1
	}
	return 0
}

// chatPrinter renders engine outputs for a person or, with --json, for a script.
type chatPrinter struct {
	w    io.Writer
	json bool
	mu   sync.Mutex
	last []flows.Button // buttons of the last say, answerable by number
}

type chatLine struct {
	Type     string            `json:"type"`
	Text     string            `json:"text,omitempty"`
	Buttons  []flows.Button    `json:"buttons,omitempty"`
	Image    string            `json:"image,omitempty"`
	Reason   string            `json:"reason,omitempty"`
	Priority string            `json:"priority,omitempty"`
	Evidence []string          `json:"evidence,omitempty"`
	Fields   map[string]string `json:"fields,omitempty"`
}

func (p *chatPrinter) print(outs []flows.Output) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, o := range outs {
		if o.Kind == flows.Say || o.Kind == flows.LinkCode {
			p.last = nil // a number answers only the buttons of the latest turn
			break
		}
	}
	for _, o := range outs {
		var l chatLine
		switch o.Kind {
		case flows.Say:
			l = chatLine{Type: "say", Text: o.Text, Buttons: o.Buttons, Image: o.Image}
			if len(o.Buttons) > 0 {
				p.last = o.Buttons
			}
		case flows.LinkCode:
			// A link node's message, as the runtime sent it: the code included.
			l = chatLine{Type: "link", Text: o.Text}
		case flows.Handoff:
			if o.Handoff == nil {
				continue
			}
			l = chatLine{Type: "handoff", Reason: o.Handoff.Reason, Priority: o.Handoff.Priority, Evidence: o.Handoff.Evidence}
		case flows.SetContact:
			l = chatLine{Type: "contact", Fields: o.Fields}
		case flows.End:
			l = chatLine{Type: "end"}
		default:
			continue
		}
		if p.json {
			b, _ := json.Marshal(l)
			fmt.Fprintf(p.w, "%s\n", b)
			continue
		}
		p.human(l)
	}
}

func (p *chatPrinter) human(l chatLine) {
	switch l.Type {
	case "say", "link":
		fmt.Fprintf(p.w, "bot: %s\n", strings.ReplaceAll(l.Text, "\n", "\n     "))
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
	}
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

// discardSender accepts every reply: the terminal shows the engine's outputs
// directly, so nothing needs delivering.
type discardSender channel.Name

func (d discardSender) Channel() channel.Name                        { return channel.Name(d) }
func (d discardSender) Send(context.Context, channel.Outbound) error { return nil }
