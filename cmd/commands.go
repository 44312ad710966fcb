package cmd

// dbHelp is said in the help of every command that reads the database.
const dbHelp = "\n\nThe database is --db, else $PARLEY_DB, else ./data/parley.db. A running server holds\n" +
	"its file: stop the server first, or use the agent console and its API while it runs."

// commandSpecs is the closed set of commands; each lives in its own file.
func commandSpecs() []spec {
	channels := []string{"web", "telegram", "vk"}
	return []spec{
		{use: "init DIR", short: "write the demo project into DIR",
			long: "init writes a complete example project (flows, FAQ, conversation tests, parley.yaml)\n" +
				"into a new or empty directory: the starting point for your own bot.",
			example: "  parley init shop\n  parley lint shop && parley test shop", run: runInit},
		{use: "lint DIR", short: "check a project; with --db also stored sessions",
			long: "lint compiles every flow, the FAQ and the texts of a project and lists every problem\n" +
				"with file:line:column. With --db it also lists stored conversations that wait at a node\n" +
				"this version removes, and where they would go.",
			example: "  parley lint shop\n  parley lint shop --db ./data/parley.db", run: runLint},
		{use: "test DIR", short: "run the project's conversation tests and suites",
			long: "test runs DIR/tests/*.yaml: conversation tests (a diff for each failing turn, node\n" +
				"coverage per flow) and suites (accuracy per topic, complaint recall, needless handoffs).",
			example: "  parley test shop\n  parley test shop --run 'order' -v\n  parley test shop --json", run: runTest},
		{use: "chat [DIR]", short: "talk to a project's bot in the terminal",
			long: "chat runs the project (the embedded demo without DIR) through the same runtime as\n" +
				"serve and shows what the customer would see, the human queue's notices included.\n" +
				"Piped input is echoed with a blank line after each turn. The conversation is kept in\n" +
				"--db (./data/chat.db) across runs; --new starts over. --record FILE writes the\n" +
				"conversation as a `parley test` case when the input ends (it starts a new one).",
			example: "  parley chat shop\n  printf 'привет\\n1\\n' | parley chat shop --new\n" +
				"  parley chat shop --record shop/tests/recorded.yaml\n  parley chat shop --debug --json",
			run: runChat, values: map[string][]string{"channel": channels}},
		{use: "serve [DIR]", short: "run the bot on every configured channel",
			long: "serve runs the project in DIR (the embedded demo without it) on the web chat and the\n" +
				"channels whose tokens are set, with the agent console at /console/. Settings come from\n" +
				"defaults, then --config FILE (or $PARLEY_CONFIG), then PARLEY_* variables, then flags.",
			example: "  parley serve shop --addr :8080 --demo-agent\n" +
				"  PARLEY_TELEGRAM_TOKEN=123:ABC parley serve shop --db /var/lib/parley/parley.db",
			run: runServe},
		{use: "graph DIR", short: "draw a project's flows (Mermaid, Graphviz dot, SVG or JSON)",
			long: "graph prints the flows of a project as the lead dashboard draws them: every node with\n" +
				"its kind and text, every way from one node to another with its label. No server needed.",
			example: "  parley graph shop --format mermaid\n  parley graph shop --flow order --format svg > order.svg\n" +
				"  parley graph shop --format dot | dot -Tsvg > flows.svg   # Graphviz lays out big flows better",
			run: runGraph, values: map[string][]string{"format": graphFormats}},
		{use: "backup FILE", short: "consistent copy of a database no server holds",
			long: "backup copies the database to FILE and verifies the copy. A running server holds the\n" +
				"file: take a hot copy from it instead (GET /api/admin/backup as an admin agent)." + dbHelp,
			example: "  parley backup /backups/parley-$(date +%F).db\n  parley backup copy.db --db ./data/parley.db --force",
			run:     runBackup},
		{use: "nlu", short: "measure understanding on a data set or a project's FAQ", run: runNLU,
			sub: []spec{{use: "eval", short: "evaluate intents, sentiment, or a project's FAQ and intents", run: subOf(runNLU, "eval"), sub: []spec{
				{use: "intents", short: "intent accuracy and out-of-scope figures on JSON Lines files",
					example: "  parley nlu eval intents --train train.jsonl --test test.jsonl\n  parley nlu eval intents --train all.jsonl --folds 5 --json",
					run:     subOf(runNLU, "eval", "intents")},
				{use: "sentiment", short: "negative-sentiment precision and recall on a JSON Lines file",
					example: "  parley nlu eval sentiment --test reviews.jsonl", run: subOf(runNLU, "eval", "sentiment")},
				{use: "project DIR", short: "k-fold cross-validation on a project's own faq.yaml",
					long: "project cross-validates the classifier on the project's FAQ questions, intent examples\n" +
						"and out_of_scope examples: accuracy, out-of-scope recall and precision, and the labels\n" +
						"most often taken for one another, with an example of each.",
					example: "  parley nlu eval project shop\n  parley nlu eval project shop --folds 10 --json",
					run:     subOf(runNLU, "eval", "project")},
			}}}},
		{use: "agents", short: "manage agent console accounts", run: runAgents, sub: []spec{
			{use: "add NAME", short: "create an agent (or --reset one) with a one-time password",
				long: "add creates an agent account. A generated password is shown once and works once: the\n" +
					"agent chooses their own at the first sign-in. --password-stdin sets one that stays." + dbHelp,
				example: "  parley agents add anna --role lead\n  echo 's3cret-pass' | parley agents add bob --role agent --password-stdin\n" +
					"  parley agents add demo --role lead --reset",
				run: subOf(runAgents, "add"), values: map[string][]string{"role": {"agent", "lead", "admin"}}},
			{use: "list", short: "list agent accounts", example: "  parley agents list\n  parley agents list --json",
				run: subOf(runAgents, "list")},
		}},
		{use: "apikeys", short: "manage API keys for the outbound API (triggers, contacts)", run: runAPIKeys, sub: []spec{
			{use: "add NAME", short: "create an API key; the key is printed once",
				long: "add creates a key for a machine (a shop backend, a CRM) to call /api/v1. Only its hash is\n" +
					"stored: copy the printed key now. --scope limits what it may do." + dbHelp,
				example: "  parley apikeys add shop\n  parley apikeys add crm --scope contacts,conversions",
				run:     subOf(runAPIKeys, "add")},
			{use: "list", short: "list API keys (never the keys themselves)", example: "  parley apikeys list\n  parley apikeys list --json",
				run: subOf(runAPIKeys, "list")},
			{use: "revoke ID|NAME", short: "revoke an API key at once", example: "  parley apikeys revoke shop",
				run: subOf(runAPIKeys, "revoke")},
		}},
		{use: "broadcast", short: "broadcasts to a segment of contacts (docs/outbound.md)", run: runBroadcast, sub: []spec{
			{use: "create NAME", short: "create a draft broadcast: a segment, a flow, a rate and a send window",
				long: "create checks the segment expression (contact fields and facts, see docs/outbound.md), the\n" +
					"rate and the window, and stores a draft. --flows DIR also checks the flow exists." + dbHelp,
				example: "  parley broadcast create winter --segment 'contact.city == \"Казань\" && days_since(contact.last_order) > 90' \\\n" +
					"      --flow promo --param code=WINTER --rate 120 --window 09:00-21:00",
				run: subOf(runBroadcast, "create")},
			{use: "preview EXPR|ID", short: "count a segment's contacts and show a sample", example: "  parley broadcast preview 'contact.tickets > 0'",
				run: subOf(runBroadcast, "preview")},
			{use: "start ID", short: "snapshot the recipients and start sending (a running server sends)", example: "  parley broadcast start b_06h55sz3qmejm9ah2c", run: subOf(runBroadcast, "start")},
			{use: "pause ID", short: "pause a running broadcast", example: "  parley broadcast pause b_06h55sz3qmejm9ah2c", run: subOf(runBroadcast, "pause")},
			{use: "resume ID", short: "resume a paused broadcast", example: "  parley broadcast resume b_06h55sz3qmejm9ah2c", run: subOf(runBroadcast, "resume")},
			{use: "cancel ID", short: "cancel a broadcast; recipients not yet reached are left out", example: "  parley broadcast cancel b_06h55sz3qmejm9ah2c", run: subOf(runBroadcast, "cancel")},
			{use: "status [ID]", short: "progress and per-recipient outcomes", example: "  parley broadcast status\n  parley broadcast status b_... --json",
				run: subOf(runBroadcast, "status")},
		}},
		{use: "tickets", short: "handoff tickets", run: runTickets, sub: []spec{
			{use: "list", short: "list handoff tickets, by status",
				long: "list prints the tickets of the human queue. --status takes:\n" +
					"  open      waiting or being answered (queued and assigned), in queue order\n" +
					"  queued    waiting for an agent\n" +
					"  assigned  taken by an agent\n" +
					"  resolved  closed by an agent\n" +
					"Without --status every ticket is listed." + dbHelp,
				example: "  parley tickets list --status queued\n  parley tickets list --status open --json",
				run:     subOf(runTickets, "list"), values: map[string][]string{"status": {"open", "queued", "assigned", "resolved"}}},
		}},
		{use: "stats", short: "analytics of a period",
			long:    "stats prints a period's conversations, handoffs, CSAT and the most common reasons." + dbHelp,
			example: "  parley stats --from 2026-11-01 --to 2026-11-30\n  parley stats --json", run: runStats},
		{use: "misses", short: "the messages the bot missed, grouped by similar text",
			long: "misses lists the customer messages the bot did not understand, or answered and was then\n" +
				"corrected (\"did you mean ...?\" answered no, not understood next) or escalated, grouped by\n" +
				"similar text, most frequent first: what to add to faq.yaml. The console shows the same\n" +
				"(/console/misses), where a lead adds a message to an entry. --flows DIR adds what that\n" +
				"project makes of each group's message now." + dbHelp,
			example: "  parley misses --from 2026-11-01 --to 2026-11-30\n  parley misses --flows ./shop\n  parley misses --json", run: runMisses},
		{use: "contacts", short: "customers: list, export or erase their data", run: runContacts, sub: []spec{
			{use: "list", short: "list contacts, by channel or a text in their name or identities",
				long:    "list prints the contacts with their identities, name and last message time." + dbHelp,
				example: "  parley contacts list\n  parley contacts list --channel telegram --search anna\n  parley contacts list --json",
				run:     subOf(runContacts, "list"), values: map[string][]string{"channel": append(channels[:3:3], "sms", "email")}},
			{use: "export ID", short: "everything stored about a contact, as JSON",
				long:    "ID is a contact id (c_...) or a channel identity (telegram:42, vk:7, web:VISITOR)." + dbHelp,
				example: "  parley contacts export telegram:42 > anna.json", run: subOf(runContacts, "export")},
			{use: "forget ID", short: "erase a contact's data (tickets and analytics stay anonymous)",
				long: "forget erases a contact and compacts the file so the erased text does not stay in free\n" +
					"pages. ID is a contact id (c_...) or a channel identity (telegram:42)." + dbHelp,
				example: "  parley contacts forget telegram:42", run: subOf(runContacts, "forget")},
		}},
		{use: "compact", short: "rewrite the database without free pages",
			long: "compact rewrites the database file without the pages an erasure freed (after \"forget\"\n" +
				"in the console, so the erased text leaves the file)." + dbHelp,
			example: "  parley compact --db ./data/parley.db", run: runCompact},
		{use: "migrate", short: "apply the PostgreSQL schema; with --from copy a bbolt database into it",
			long: "migrate applies pending schema migrations to the PostgreSQL database --to (replicas also\n" +
				"apply them at start, one at a time under a lock). With --from FILE.db it then copies that\n" +
				"bbolt database into the empty PostgreSQL one and checks the copy by counting and sampling.\n" +
				"Stop the server that uses FILE.db first.",
			example: "  parley migrate --to postgres://parley@db.internal/parley\n" +
				"  parley migrate --from ./data/parley.db --to postgres://parley@db.internal/parley",
			run: runMigrate},
		{use: "version", short: "print the version and build of this binary",
			example: "  parley version\n  parley --version", run: runVersion},
	}
}
