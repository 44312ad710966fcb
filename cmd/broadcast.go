package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/parley-chat/parley/bot"
	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/flows/segment"
	"github.com/parley-chat/parley/store"
)

const broadcastUsage = `usage: parley broadcast create NAME --segment EXPR --flow FLOW [--param k=v]... [--transactional]
                        [--rate N] [--window 09:00-21:00] [--tz ZONE] [--flows DIR] [--db FILE]
       parley broadcast preview EXPR|ID [--sample N] [--db FILE]
       parley broadcast start|pause|resume|cancel ID [--db FILE]
       parley broadcast status [ID] [--json] [--db FILE]`

// runBroadcast manages broadcasts offline (the server stopped; a running
// server's Broadcaster sends the started ones). docs/outbound.md.
func runBroadcast(args []string, stdio IO) int {
	if len(args) == 0 {
		fmt.Fprintln(stdio.Stderr, broadcastUsage)
		return 2
	}
	switch args[0] {
	case "create":
		return broadcastCreate(args[1:], stdio)
	case "preview":
		return broadcastPreview(args[1:], stdio)
	case "start", "pause", "resume", "cancel":
		return broadcastAction(args[0], args[1:], stdio)
	case "status":
		return broadcastStatus(args[1:], stdio)
	}
	fmt.Fprintf(stdio.Stderr, "parley broadcast: unknown subcommand %q (want create, preview, start, pause, resume, cancel or status)\n", args[0])
	return 2
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func broadcastCreate(args []string, stdio IO) int {
	fs := newFlagSet("parley broadcast create", stdio)
	seg := fs.String("segment", "", "segment expression over the contact (required), e.g. 'contact.city == \"Казань\"'")
	flow := fs.String("flow", "", "flow to start for each recipient (required)")
	var params multiFlag
	fs.Var(&params, "param", "flow parameter NAME=VALUE (repeatable)")
	trans := fs.Bool("transactional", false, "send to contacts who opted out of marketing too (order updates, not promotions)")
	rate := fs.Int("rate", 60, "messages per minute")
	window := fs.String("window", "09:00-21:00", "daily send window HH:MM-HH:MM; \"\" for any hour")
	tz := fs.String("tz", "", "time zone of the window (default: the project's)")
	flowsDir := fs.String("flows", "", "project directory to check the flow exists in (default: not checked)")
	dbPath := dbFlag(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 || *seg == "" || *flow == "" {
		fmt.Fprintln(stdio.Stderr, broadcastUsage)
		return 2
	}
	b := store.Broadcast{Name: pos[0], Segment: *seg, Flow: *flow, Transactional: *trans, Rate: *rate, Window: *window, TimeZone: *tz}
	for _, p := range params {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			fmt.Fprintf(stdio.Stderr, "parley broadcast create: --param %q: want NAME=VALUE\n", p)
			return 2
		}
		if b.Params == nil {
			b.Params = map[string]any{}
		}
		b.Params[k] = v
	}
	var hasFlow func(string) bool
	if *flowsDir != "" {
		p, err := loadProject(*flowsDir)
		if err != nil {
			fmt.Fprintf(stdio.Stderr, "parley broadcast create: %v\n", err)
			return 1
		}
		hasFlow = p.NewEngine(flows.Options{}).HasFlow
	}
	if err := bot.CheckBroadcast(b, hasFlow); err != nil {
		fmt.Fprintf(stdio.Stderr, "parley broadcast create: %v\n", err)
		return 1
	}
	db, err := openStoreFor("broadcast create", *dbPath, false)
	if err != nil {
		fmt.Fprintln(stdio.Stderr, err)
		return 1
	}
	defer db.Close()
	if b, err = db.CreateBroadcast(context.Background(), b); err != nil {
		fmt.Fprintf(stdio.Stderr, "parley broadcast create: %v\n", strings.TrimPrefix(err.Error(), "store: "))
		return 1
	}
	fmt.Fprintf(stdio.Stdout, "created broadcast %s %q (draft): preview it, then `parley broadcast start %s`\n", b.ID, b.Name, b.ID)
	return 0
}

func broadcastPreview(args []string, stdio IO) int {
	fs := newFlagSet("parley broadcast preview", stdio)
	sample := fs.Int("sample", 10, "how many matching contacts to show")
	dbPath := dbFlag(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fmt.Fprintln(stdio.Stderr, broadcastUsage)
		return 2
	}
	db, err := openStoreFor("broadcast preview", *dbPath, true)
	if err != nil {
		fmt.Fprintln(stdio.Stderr, err)
		return 1
	}
	defer db.Close()
	src := pos[0]
	if b, err := db.Broadcast(src); err == nil {
		src = b.Segment
	}
	seg, err := segment.Compile(src)
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "parley broadcast preview: %v\n", err)
		return 1
	}
	p, err := bot.PreviewSegment(db, seg, time.Now(), *sample)
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "parley broadcast preview: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdio.Stdout, "%d contacts match\n", p.Count)
	tw := tabwriter.NewWriter(stdio.Stdout, 0, 4, 2, ' ', 0)
	for _, c := range p.Sample {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.ID, strings.Join(c.Identities, ","), c.Name)
	}
	tw.Flush()
	return 0
}

func broadcastAction(action string, args []string, stdio IO) int {
	fs := newFlagSet("parley broadcast "+action, stdio)
	dbPath := dbFlag(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fmt.Fprintln(stdio.Stderr, broadcastUsage)
		return 2
	}
	db, err := openStoreFor("broadcast "+action, *dbPath, false)
	if err != nil {
		fmt.Fprintln(stdio.Stderr, err)
		return 1
	}
	defer db.Close()
	ctx := context.Background()
	var b store.Broadcast
	switch action {
	case "start":
		b, err = bot.StartBroadcast(ctx, db, pos[0], time.Now())
	case "pause":
		b, err = db.SetBroadcastState(ctx, pos[0], store.BroadcastPaused)
	case "resume":
		b, err = db.SetBroadcastState(ctx, pos[0], store.BroadcastRunning)
	case "cancel":
		b, err = db.SetBroadcastState(ctx, pos[0], store.BroadcastCancelled)
	}
	if errors.Is(err, store.ErrNotFound) {
		fmt.Fprintf(stdio.Stderr, "parley broadcast %s: no broadcast %q (parley broadcast status lists them)\n", action, pos[0])
		return 1
	} else if err != nil {
		msg := strings.TrimSuffix(strings.TrimPrefix(err.Error(), "store: "), ": "+store.ErrConflict.Error())
		fmt.Fprintf(stdio.Stderr, "parley broadcast %s: %s\n", action, msg)
		return 1
	}
	fmt.Fprintf(stdio.Stdout, "broadcast %s is %s (%d recipients)\n", b.ID, b.State, b.Total)
	return 0
}

func broadcastStatus(args []string, stdio IO) int {
	fs := newFlagSet("parley broadcast status", stdio)
	asJSON := fs.Bool("json", false, "print JSON")
	dbPath := dbFlag(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil || len(pos) > 1 {
		if err == nil {
			fmt.Fprintln(stdio.Stderr, broadcastUsage)
		}
		return 2
	}
	db, err := openStoreFor("broadcast status", *dbPath, true)
	if err != nil {
		fmt.Fprintln(stdio.Stderr, err)
		return 1
	}
	defer db.Close()
	var all []store.Broadcast
	var rs []store.Recipient
	if len(pos) == 1 {
		b, err := db.Broadcast(pos[0])
		if err != nil {
			fmt.Fprintf(stdio.Stderr, "parley broadcast status: no broadcast %q\n", pos[0])
			return 1
		}
		all = []store.Broadcast{b}
		if rs, err = db.Recipients(b.ID, 0, 0); err != nil {
			fmt.Fprintf(stdio.Stderr, "parley broadcast status: %v\n", err)
			return 1
		}
	} else if all, err = db.Broadcasts(); err != nil {
		fmt.Fprintf(stdio.Stderr, "parley broadcast status: %v\n", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdio.Stdout)
		enc.SetIndent("", "  ")
		if len(pos) == 1 {
			_ = enc.Encode(struct {
				store.Broadcast
				Recipients []store.Recipient `json:"recipients"`
			}{all[0], rs})
		} else {
			_ = enc.Encode(all)
		}
		return 0
	}
	tw := tabwriter.NewWriter(stdio.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSTATE\tDONE\tOUTCOMES\tFLOW\tSEGMENT")
	for _, b := range all {
		var oc []string
		for _, k := range []string{store.OutcomeQueued, store.OutcomeSent, store.OutcomeOptedOut, store.OutcomeBusy,
			store.OutcomeNoChannel, store.OutcomeFailed, store.OutcomeNotStarted} {
			if n := b.Counts[k]; n > 0 {
				oc = append(oc, fmt.Sprintf("%s=%d", k, n))
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s\t%s\t%s\n", b.ID, b.Name, b.State, b.Next, b.Total, strings.Join(oc, " "), b.Flow, b.Segment)
	}
	tw.Flush()
	for _, r := range rs {
		fmt.Fprintf(stdio.Stdout, "  %d %s %s %s\n", r.Index, r.ContactID, r.Outcome, r.Detail)
	}
	return 0
}
