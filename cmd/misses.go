package cmd

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/handoff/analytics"
)

const missesUsage = "usage: parley misses [--from DATE] [--to DATE] [--flows DIR] [--json] [--db FILE]"

// runMisses prints the misses inbox, as the console's GET /api/misses:
// the customer messages the bot did not understand, or answered and was
// then corrected or escalated, grouped by similar text, most frequent
// first. DATE is read as in parley stats. The store is opened read-only.
// With --flows DIR each group's message is understood again with that
// project: after teaching the bot, which misses it now answers.
func runMisses(args []string, stdio IO) int {
	flags := newFlagSet("parley misses", stdio)
	period := periodFlags(flags)
	asJSON := flags.Bool("json", false, "print one JSON object")
	flowsDir := flags.String("flows", "", "understand each group's messages again with the project in `DIR`")
	dbPath := dbFlag(flags)
	pos, err := parseInterspersed(flags, args)
	if err != nil {
		return 2
	}
	if len(pos) > 0 {
		fmt.Fprintf(stdio.Stderr, "parley misses: unexpected argument %q\n%s\n", pos[0], missesUsage)
		return 2
	}
	from, to, err := period.parse()
	if err == nil {
		return missesReport(stdio, *dbPath, *flowsDir, from, to, *asJSON)
	}
	fmt.Fprintf(stdio.Stderr, "parley misses: %v\n", err)
	return 2
}

func missesReport(stdio IO, path, flowsDir string, from, to time.Time, asJSON bool) int {
	if _, err := statDB(path); err != nil {
		fmt.Fprintf(stdio.Stderr, "parley misses: %v\n", err)
		return 1
	}
	var project *flows.Project
	if flowsDir != "" {
		p, err := loadProject(flowsDir)
		if err != nil {
			fmt.Fprintf(stdio.Stderr, "parley misses: --flows: %v\n", err)
			return 1
		}
		project = p
	}
	db, err := openStoreFor("misses", path, true)
	if err != nil {
		fmt.Fprintln(stdio.Stderr, err)
		return 1
	}
	defer db.Close()
	rep, err := analytics.ComputeMisses(db, from, to)
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "parley misses: %v\n", strings.TrimPrefix(err.Error(), "analytics: "))
		return 1
	}
	if project != nil {
		teacher := projectTeacher{current: func() *flows.Project { return project }}
		rep.Recheck(teacher.Understand)
	}
	if asJSON {
		enc := json.NewEncoder(stdio.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stdio.Stderr, "parley misses: %v\n", err)
			return 1
		}
		return 0
	}
	printMisses(stdio.Stdout, rep)
	return 0
}

// printMisses writes one group a line: how many, the latest message, why,
// what the bot took it for, when last.
func printMisses(w io.Writer, rep analytics.MissReport) {
	if len(rep.Groups) == 0 {
		fmt.Fprintln(w, "no missed messages in this period")
		return
	}
	fmt.Fprintf(w, "%d missed messages in %d groups\n\n", rep.Misses, len(rep.Groups))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	now := len(rep.Groups[0].Now) > 0
	head := "COUNT\tMESSAGE\tWHY\tTAKEN FOR\tLAST"
	if now {
		head += "\tNOW"
	}
	fmt.Fprintln(tw, head)
	for _, g := range rep.Groups {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s", g.Count, oneLine(g.Example, 60), counts(g.Reasons), counts(g.TakenFor), g.Last.UTC().Format("2006-01-02 15:04"))
		if now && len(g.Now) > 0 {
			fmt.Fprintf(tw, "\t%s", nowText(g.Now[0]))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

// nowText says what the project makes of a message now.
func nowText(r analytics.Recheck) string {
	switch {
	case r.Answered:
		return fmt.Sprintf("answered: %s %s (%.2f)", r.Kind, r.ID, r.Score)
	case r.OOS:
		return "out of scope"
	case r.ID != "":
		return fmt.Sprintf("unsure: %s %s (%.2f)", r.Kind, r.ID, r.Score)
	}
	return "not understood"
}

// counts is "a 2, b 1": most first, then by name; "-" when empty.
func counts(m map[string]int) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// oneLine keeps a message on its row: newlines as spaces, cut at n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
