package cmd

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/parley-chat/parley/bot"
	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/bot/outbound"
	"github.com/parley-chat/parley/bot/telegram"
	"github.com/parley-chat/parley/bot/vk"
	"github.com/parley-chat/parley/bot/webchat"
	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/handoff"
	"github.com/parley-chat/parley/store"

	"github.com/parley-chat/parley/internal/servegc"
)

func runServe(args []string, stdio IO) int {
	fs := newFlagSet("serve", stdio)
	configPath := fs.String("config", os.Getenv("PARLEY_CONFIG"), "the server's settings file (default $PARLEY_CONFIG; none: defaults, environment and flags)")
	addr := fs.String("addr", "", "HTTP listen address (overrides PARLEY_HTTP_ADDR)")
	dbPath := fs.String("db", "", "database file (overrides PARLEY_DB)")
	demoAgent := fs.Bool("demo-agent", false, "create an agent \"demo\" with a one-time password when there is no agent")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) > 1 {
		fmt.Fprintln(stdio.Stderr, "usage: parley serve [DIR] [--config FILE] [--addr HOST:PORT] [--db FILE] [--demo-agent]")
		return 2
	}
	cfg := defaultConfig()
	dir := ""
	if len(pos) == 1 {
		dir = pos[0]
	}
	// DIR/parley.yaml is the project's file (flows, FAQ, texts), read by the
	// flow loader; the server's own settings (addresses, database, tokens)
	// come from --config, the environment and flags.
	if *configPath != "" {
		if err := loadConfigFile(&cfg, *configPath); err != nil {
			fmt.Fprintf(stdio.Stderr, "parley serve: %v\n", err)
			return 1
		}
	}
	if err := applyEnv(&cfg, os.Getenv); err != nil {
		fmt.Fprintf(stdio.Stderr, "parley serve: %v\n", err)
		return 2
	}
	if dir != "" {
		cfg.Flows = dir
	}
	if *addr != "" {
		cfg.HTTPAddr = *addr
	}
	if *dbPath != "" {
		cfg.DB = *dbPath
	}
	if *demoAgent {
		cfg.Handoff.DemoAgent = true
	}
	if err := cfg.validate(); err != nil {
		fmt.Fprintf(stdio.Stderr, "parley serve: %v\n", err)
		return 2
	}
	log := newLogger(stdio.Stderr, cfg.LogLevel, cfg.LogFormat)
	servegc.Apply()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := newServer(ctx, cfg, log, stdio)
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "parley serve: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdio.Stdout, "parley: web chat at http://%s/  agent console at http://%s/console/\n", srv.addr, srv.addr)
	<-ctx.Done()
	log.Info().Msg("shutting down")
	if err := srv.shutdown(cfg.ShutdownTimeout); err != nil {
		log.Error().Err(err).Msg("shutdown")
		return 1
	}
	return 0
}

// server is a running `parley serve`: started in order by newServer, stopped
// in reverse by shutdown.
type server struct {
	log      zerolog.Logger
	cfg      Config
	db       *store.DB
	runtime  *bot.Runtime
	handoff  *handoff.Service
	web      *webchat.Adapter
	http     *http.Server
	addr     string
	cancel   context.CancelFunc // stops adapters and the flow watcher
	bg       sync.WaitGroup
	ready    atomic.Bool // set by newServer and shutdown, read by /readyz handlers
	engineMu sync.Mutex
}

func newServer(parent context.Context, cfg Config, log zerolog.Logger, stdio IO) (_ *server, err error) {
	// s is not the named result: the cleanups below use it after a failed
	// start has returned nil.
	s := &server{log: log, cfg: cfg}
	var cleanups []func()
	defer func() {
		if err != nil {
			for i := len(cleanups) - 1; i >= 0; i-- {
				cleanups[i]()
			}
		}
	}()

	// 1. Store.
	s.db, err = store.Open(cfg.DB, store.Options{})
	if errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("database (--db, PARLEY_DB or db): %s, or give this one another database", inUse(cfg.DB))
	}
	if err != nil {
		return nil, fmt.Errorf("database %s (--db, PARLEY_DB or db): %w", cfg.DB, err)
	}
	cleanups = append(cleanups, func() { s.db.Close() })

	// 2. The listener, early: a port in use is reported before anything
	// else starts.
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s (--addr, PARLEY_HTTP_ADDR or http_addr): %w; choose a free HOST:PORT", cfg.HTTPAddr, unwrapOp(err))
	}
	cleanups = append(cleanups, func() { ln.Close() })
	s.addr = ln.Addr().String()

	// 3. Flows.
	project, err := loadProject(cfg.Flows)
	if err != nil {
		return nil, err
	}
	opts, err := engineOptions(cfg.FlowHTTP)
	if err != nil {
		return nil, err
	}
	for _, name := range project.MissingSecrets(opts.Secrets) {
		log.Warn().Str("secret", name).Msg("secret without a value: http nodes that read it fail; set " + flows.SecretEnvPrefix + strings.ToUpper(name))
	}
	// Flows read the human queue's business hours (`hours.open`), the ones
	// in force after a reload too; s.handoff exists before any turn runs.
	opts.Hours = func(at time.Time) (bool, time.Time) { return s.handoff.HoursAt(at) }
	engine := project.NewEngine(opts)
	log.Info().Str("project", project.Name).Str("version", project.Version).Msg("flows loaded")
	logWarnings(log, project)

	// 4. Channels.
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	webSecret, err := s.webSecret()
	if err != nil {
		return nil, err
	}
	proxies, err := webchat.ParseTrustedProxies(cfg.Web.TrustedProxies)
	if err != nil {
		return nil, err
	}
	var hist historyAdapter
	web, err := webchat.New(webchat.Config{
		AllowedOrigins:  cfg.Web.AllowedOrigins,
		MaxMessageBytes: cfg.Web.MaxMessageBytes,
		RatePerSecond:   cfg.Web.RatePerSecond,
		Secret:          webSecret,
		IdentitySecret:  []byte(cfg.Web.IdentitySecret),
		Logger:          log.With().Str("channel", "web").Logger(),
		Title:           project.Name,
		Lang:            project.DefaultLang,
		NewVisitorRate:  cfg.Web.NewVisitorRate, NewVisitorBurst: cfg.Web.NewVisitorBurst,
		MaxConnsPerAddress: cfg.Web.MaxConnsPerAddress, MaxConns: cfg.Web.MaxConns,
		TrustedProxies: proxies, Metrics: reg,
	}, &hist)
	if err != nil {
		return nil, fmt.Errorf("web chat: %w", err)
	}
	s.web = web
	senders := []channel.Sender{web}
	type runner interface {
		Run(ctx context.Context, h channel.Handler) error
	}
	var runners []runner
	var tg *telegram.Adapter
	if cfg.Telegram.Token != "" {
		tg, err = telegram.New(telegram.Config{
			Token: cfg.Telegram.Token, APIURL: cfg.Telegram.APIURL, Mode: cfg.Telegram.Mode,
			WebhookURL: cfg.PublicURL + "/hooks/telegram", WebhookSecret: cfg.Telegram.WebhookSecret,
			Logger: log.With().Str("channel", "telegram").Logger(),
		})
		if err != nil {
			return nil, err
		}
		senders = append(senders, tg)
		runners = append(runners, tg)
	}
	var vkA *vk.Adapter
	if cfg.VK.Token != "" {
		vkA, err = vk.New(vk.Config{
			Token: cfg.VK.Token, GroupID: cfg.VK.GroupID, APIURL: cfg.VK.APIURL, Mode: cfg.VK.Mode,
			Secret: cfg.VK.Secret, Confirmation: cfg.VK.Confirmation, Positions: s.db,
			Logger: log.With().Str("channel", "vk").Logger(),
		})
		if err != nil {
			return nil, err
		}
		senders = append(senders, vkA)
		runners = append(runners, vkA)
	}

	outs, err := outboundSenders(cfg.Outbound, os.Getenv)
	if err != nil {
		return nil, err
	}
	senders = append(senders, outs...)
	unsub := outbound.NewUnsubscribe(s.db, unsubscribeKey(webSecret), cfg.PublicURL, log.With().Str("component", "outbound").Logger())
	if cfg.Outbound.SMTP.Host != "" && cfg.PublicURL == "" {
		log.Warn().Msg("e-mail is on but public_url is empty: unsubscribe links in marketing mails will not open; set public_url")
	}

	// 5. Runtime and the human queue (which delivers through the runtime).
	files, err := cfg.Files.runtimeFiles()
	if err != nil {
		return nil, err
	}
	if keep, ok := project.FilesKeep(); ok {
		files.Keep = keep // the lead's retention (parley.yaml files: keep:) wins
	}
	s.runtime = bot.New(bot.Config{Logger: log, Metrics: reg, FloodRate: cfg.FloodRate, FloodBurst: cfg.FloodBurst, Files: files,
		Link: bot.LinkConfig{Disabled: cfg.Link.Disabled, TTL: cfg.Link.TTL, MaxAttempts: cfg.Link.MaxAttempts,
			Window: cfg.Link.Window, TelegramBot: cfg.Link.TelegramBot, VKGroup: cfg.Link.VKGroup},
		TriggerIdle: cfg.Outbound.TriggerIdle, TriggerSweep: cfg.Outbound.TriggerSweep, UnsubscribeLink: unsub.Link,
		ChannelCost: cfg.Outbound.Costs},
		s.db, engine, senders...)
	hist.rt = s.runtime
	web.SetFiles(s.runtime, files.MaxBytes)
	hcfg, notes, err := projectHandoffConfig(cfg.Handoff, project)
	if err != nil {
		return nil, err
	}
	for _, n := range notes {
		log.Warn().Msg(n)
	}
	hcfg.Metrics = reg
	hcfg.Files = files.FilePolicy
	// Behind a TLS-terminating proxy (an https public URL) the console's
	// cookies are Secure and __Host- prefixed without a setting to forget.
	hcfg.SecureCookies = hcfg.SecureCookies || strings.HasPrefix(strings.ToLower(cfg.PublicURL), "https://")
	// The sign-in limits count the client a trusted proxy names, as the web
	// chat's limits do (web.trusted_proxies).
	hcfg.ClientIP = func(r *http.Request) string { return webchat.ClientAddr(r, proxies).Addr().String() }
	s.handoff, err = handoff.New(s.db, hcfg, s.runtime, log) // it names its own component
	if err != nil {
		return nil, fmt.Errorf("handoff: %w", err)
	}
	cleanups = append(cleanups, func() { s.handoff.Close() })
	s.runtime.SetHandoff(s.handoff)
	// The widget shows the customer's wait: queue position, agent, typing.
	waiting := webWaiting{db: s.db, hs: s.handoff, web: web}
	web.SetWaiting(waiting)
	s.handoff.SetWaitNotifier(waiting)
	graphs := &flowGraphs{}
	graphs.p.Store(project)
	s.handoff.SetFlowGraphs(graphs)
	// swap serves a new version of the project: the flow watcher's reload
	// and a change from the console's misses inbox.
	running := project
	swap := func(p *flows.Project) {
		s.runtime.SetEngine(p.NewEngine(opts))
		// The lead's retention, or the server's again when the project
		// no longer says.
		keep, ok := p.FilesKeep()
		if !ok {
			keep = cfg.Files.Keep
		}
		s.runtime.SetFilesKeep(keep)
		graphs.p.Store(p)
		if applyHandoffChange(s.handoff, cfg.Handoff, running, p, log) {
			running = p
		}
	}
	reloading := &sync.Mutex{} // a reload from the files and a change from the console, one at a time
	s.handoff.SetTeacher(&projectTeacher{dir: cfg.Flows, log: log, current: graphs.p.Load, reload: swap, mu: reloading})
	registerQueueMetrics(reg, s.handoff)
	if cfg.Handoff.DemoAgent {
		if err := ensureDemoAgent(parent, s.db, stdio, cfg.Handoff.OneTimePasswordTTL); err != nil {
			return nil, err
		}
	}

	// 6. HTTP.
	mux := http.NewServeMux()
	mux.Handle("/", web.Handler(s.runtime))
	if tg != nil && cfg.Telegram.Mode == "webhook" {
		mux.Handle("POST /hooks/telegram", tg.WebhookHandler(s.runtime))
	}
	if vkA != nil && cfg.VK.Mode == "callback" {
		mux.Handle("POST /hooks/vk", vkA.CallbackHandler(s.runtime))
	}
	hh := s.handoff.Handler()
	mux.Handle("/console/", hh)
	mux.Handle("/console", hh)
	mux.Handle("/api/", hh)
	// The outbound API for machines (API keys, docs/outbound.md).
	mux.Handle("/api/v1/", outbound.New(s.db, s.runtime, log.With().Str("component", "outbound").Logger()).Handler())
	mux.Handle(outbound.UnsubscribePath, unsub)
	mux.Handle("GET /metrics", metricsAuth(cfg.MetricsToken, promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", s.readyz)
	s.http = newHTTPServer(cfg.HTTP, mux)

	// 7. Start: pending work first, then traffic.
	if err := s.runtime.Start(parent); err != nil {
		return nil, err
	}
	bgctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	s.cancel = cancel
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error().Err(err).Msg("http server")
		}
	}()
	for _, r := range runners {
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			if err := r.Run(bgctx, s.runtime); err != nil && !errors.Is(err, context.Canceled) {
				log.Error().Err(err).Msg("channel stopped")
			}
		}()
	}
	// Broadcasts send in the project's time zone unless they name one.
	bcastLoc := hcfg.Hours.Location()
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		bot.NewBroadcaster(s.runtime, s.db, bcastLoc, nil, log.With().Str("component", "broadcast").Logger()).Run(bgctx)
	}()
	if cfg.Flows != "" {
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			watchFlows(bgctx, cfg.Flows, log, reloading, swap)
		}()
	}
	s.ready.Store(true)
	log.Info().Str("addr", s.addr).Bool("telegram", tg != nil).Bool("vk", vkA != nil).Msg("serving")
	return s, nil
}

// shutdown stops in reverse order: no new requests, channels stop polling,
// running turns finish and ready replies are flushed, then the store closes.
func (s *server) shutdown(budget time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	s.ready.Store(false)
	err := s.http.Shutdown(ctx)
	s.web.Close() // http.Server.Shutdown leaves hijacked WebSockets open
	s.cancel()
	rerr := s.runtime.Shutdown(ctx)
	s.bg.Wait()
	s.handoff.Close()
	cerr := s.db.Close()
	return errors.Join(err, rerr, cerr)
}

func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	if !s.ready.Load() {
		http.Error(w, "starting or stopping", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready")
}

// newHTTPServer applies the timeouts: a client gets ReadHeaderTimeout for
// its headers and ReadTimeout for the whole request, body included (a slow
// body holds a connection and a file no longer than that); WriteTimeout
// bounds a handler's answer; a keep-alive connection closes after
// IdleTimeout without a request. Long-lived answers are not cut: the
// console's event stream clears its write deadline, and the web chat's
// WebSockets are hijacked connections, whose deadlines net/http clears on
// Hijack (conn.hijackLocked), so the timeouts end at the upgrade.
func newHTTPServer(c HTTPConfig, h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: c.ReadHeaderTimeout, ReadTimeout: c.ReadTimeout,
		WriteTimeout: c.WriteTimeout, IdleTimeout: c.IdleTimeout}
}

// webSecret returns the key that signs web chat visitor tokens: from the
// config, else one generated once and kept beside the database, so visitors
// keep their history across restarts.
func (s *server) webSecret() ([]byte, error) {
	if s.cfg.Web.Secret != "" {
		return []byte(s.cfg.Web.Secret), nil
	}
	path := filepath.Join(filepath.Dir(s.cfg.DB), "webchat.key")
	if b, err := os.ReadFile(path); err == nil && len(b) >= 32 {
		return b, nil
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, key, 0o600); err != nil {
		return nil, fmt.Errorf("store web chat key: %w", err)
	}
	return key, nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// unwrapOp drops the "listen tcp ADDR:" prefix a *net.OpError repeats.
func unwrapOp(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}
