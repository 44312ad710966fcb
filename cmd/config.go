package cmd

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/rs/zerolog"

	"github.com/parley-chat/parley/bot/webchat"
	"github.com/parley-chat/parley/flows"
)

// Config is everything `parley serve` needs. It is built in this order:
// defaults, then the server's settings file (--config FILE or
// PARLEY_CONFIG; never the project's parley.yaml), then PARLEY_* environment
// variables, then flags. Secrets
// belong in the environment, never in flow files.
type Config struct {
	HTTPAddr  string `yaml:"http_addr"`
	DB        string `yaml:"db"`
	Flows     string `yaml:"flows"`      // project directory; "" = the demo embedded in the binary
	PublicURL string `yaml:"public_url"` // where Telegram and VK reach our webhooks
	LogLevel  string `yaml:"log_level"`
	LogFormat string `yaml:"log_format"` // json or console

	Telegram TelegramConfig `yaml:"telegram"`
	VK       VKConfig       `yaml:"vk"`
	Web      WebConfig      `yaml:"web"`
	Handoff  HandoffConfig  `yaml:"handoff"`
	Link     LinkConfig     `yaml:"link"`
	HTTP     HTTPConfig     `yaml:"http"`
	FlowHTTP FlowHTTPConfig `yaml:"flow_http"`
	Files    FilesConfig    `yaml:"files"`
	Outbound OutboundConfig `yaml:"outbound"`

	// FloodRate and FloodBurst: messages per second a customer gets answered
	// (default 5, burst 20); more are recorded but not answered. -1 = off.
	FloodRate  float64 `yaml:"flood_rate"`
	FloodBurst int     `yaml:"flood_burst"`

	// MetricsToken, when set, is the bearer token /metrics asks for.
	MetricsToken string `yaml:"metrics_token"`

	// ShutdownTimeout bounds a graceful stop.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// HTTPConfig bounds the HTTP server's connections (newHTTPServer): how long
// a client may take for its headers and for the whole request, how long an
// answer may take, and how long a keep-alive connection waits for the next
// request. WebSockets and the console's event stream are not cut by them.
type HTTPConfig struct {
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"` // 10s
	ReadTimeout       time.Duration `yaml:"read_timeout"`        // 30s
	WriteTimeout      time.Duration `yaml:"write_timeout"`       // 60s
	IdleTimeout       time.Duration `yaml:"idle_timeout"`        // 60s
}

// FlowHTTPConfig is about the calls of flows' http nodes. SecretsFile
// (PARLEY_SECRETS_FILE) holds name=value lines for parley.yaml's secrets;
// PARLEY_SECRET_<NAME> overrides a line. AllowNetworks
// (PARLEY_FLOW_HTTP_ALLOW_NETWORKS, comma-separated) are addresses or CIDR
// prefixes http nodes may reach although they are loopback, private or
// link-local; by default no such address is called.
type FlowHTTPConfig struct {
	SecretsFile   string   `yaml:"secrets_file"`
	AllowNetworks []string `yaml:"allow_networks"`
}

// OutboundConfig configures triggers of the outbound API (docs/outbound.md).
// TriggerIdle: how long after the last message a conversation whose bot
// waits for the customer's answer is not interrupted (30m); TriggerSweep:
// how often triggers waiting for a free conversation are checked (30s).
type OutboundConfig struct {
	TriggerIdle  time.Duration `yaml:"trigger_idle"`
	TriggerSweep time.Duration `yaml:"trigger_sweep"`
	Gateway      GatewayConfig `yaml:"gateway"`
	SMTP         SMTPConfig    `yaml:"smtp"`
	// Costs are what one message costs per channel ({sms: 3.5}), for
	// cascades' reports.
	Costs map[string]float64 `yaml:"costs"`
}

// GatewayConfig is the HTTP gateway channel (sms:), on when URL is set.
// Header values name environment variables as ${NAME} so a provider's
// token stays out of the file. Body is the request's template (see
// bot/gateway).
type GatewayConfig struct {
	URL     string            `yaml:"url"`
	Method  string            `yaml:"method"`
	Headers map[string]string `yaml:"headers"`
	Body    string            `yaml:"body"`
	Timeout time.Duration     `yaml:"timeout"`
}

// SMTPConfig is the e-mail channel (email:), on when Host is set. The
// password comes from PARLEY_SMTP_PASSWORD.
type SMTPConfig struct {
	Host     string `yaml:"host"`
	Port     int    `yaml:"port"`
	Username string `yaml:"username"`
	Password string `yaml:"-"`
	TLS      string `yaml:"tls"` // mandatory (default), opportunistic or none
	From     string `yaml:"from"`
	Subject  string `yaml:"subject"`
}

// TelegramConfig configures the Telegram channel; it starts when Token is set.
type TelegramConfig struct {
	Token         string `yaml:"token"`
	Mode          string `yaml:"mode"` // poll or webhook
	APIURL        string `yaml:"api_url"`
	WebhookSecret string `yaml:"webhook_secret"`
}

// VKConfig configures the VK channel; it starts when Token is set.
type VKConfig struct {
	Token        string `yaml:"token"`
	GroupID      int64  `yaml:"group_id"`
	Mode         string `yaml:"mode"` // callback or longpoll
	APIURL       string `yaml:"api_url"`
	Secret       string `yaml:"secret"`
	Confirmation string `yaml:"confirmation"`
}

// LinkConfig configures linking a customer's channels (docs/contacts.md).
type LinkConfig struct {
	Disabled    bool          `yaml:"disabled"`
	TTL         time.Duration `yaml:"ttl"`          // how long a link code is valid (10m)
	MaxAttempts int           `yaml:"max_attempts"` // wrong codes per window per contact (5)
	Window      time.Duration `yaml:"window"`       // (15m)
	TelegramBot string        `yaml:"telegram_bot"` // bot username: adds a t.me deep link to codes
	VKGroup     string        `yaml:"vk_group"`     // community short name: adds a vk.me link
}

// WebConfig configures the web chat, which always runs.
type WebConfig struct {
	AllowedOrigins  []string `yaml:"allowed_origins"`
	MaxMessageBytes int      `yaml:"max_message_bytes"`
	RatePerSecond   float64  `yaml:"rate_per_second"`
	Secret          string   `yaml:"secret"` // HMAC key for visitor tokens; generated and kept beside the db when empty
	IdentitySecret  string   `yaml:"identity_secret"`
	// Flood limits per client address (an IPv4 address, an IPv6 /64): new
	// visitors (connections without a token) per second with a burst
	// (0.2 and 20; -1 = off), open connections per address (64) and in all
	// (5000). TrustedProxies (addresses or CIDR prefixes) are reverse
	// proxies whose X-Forwarded-For names the client.
	NewVisitorRate     float64  `yaml:"new_visitor_rate"`
	NewVisitorBurst    int      `yaml:"new_visitor_burst"`
	MaxConnsPerAddress int      `yaml:"max_conns_per_address"`
	MaxConns           int      `yaml:"max_conns"`
	TrustedProxies     []string `yaml:"trusted_proxies"`
}

// HandoffConfig configures the human queue: the operator's keys. The lead's
// (TimeZone, Hours, Holidays, CSAT, Canned, Texts) belong in the project's
// parley.yaml, under handoff:; here they still work for this release with a
// deprecation warning, and the project's win (projectHandoffConfig).
type HandoffConfig struct {
	TimeZone     string        `yaml:"time_zone"` // deprecated here; "" = Europe/Moscow for these hours
	Hours        []string      `yaml:"hours"`     // deprecated here; e.g. ["mon-fri 09:00-18:00", "sat 10:00-16:00"]; empty = always open
	Holidays     []string      `yaml:"holidays"`  // deprecated here; dates like 2026-01-01
	ReopenWindow time.Duration `yaml:"reopen_window"`
	AutoAssign   bool          `yaml:"auto_assign"`
	Capacity     int           `yaml:"capacity"`
	CSAT         *bool         `yaml:"csat"`       // deprecated here
	DemoAgent    bool          `yaml:"demo_agent"` // create an agent "demo" with a one-time password when none exists
	// SecureCookies marks console cookies Secure behind a TLS-terminating proxy.
	SecureCookies bool `yaml:"secure_cookies"`
	// Canned replies offered in the console (deprecated here).
	Canned []CannedReply `yaml:"canned"`
	// Texts override the customer notices per language ("ru", "en")
	// (deprecated here).
	Texts map[string]NoticeTexts `yaml:"texts"`
	// SessionMaxAge ends a console session this long after sign-in however
	// active (7 days); OneTimePasswordTTL is how long a generated password
	// opens its one sign-in (24h).
	SessionMaxAge      time.Duration `yaml:"session_max_age"`
	OneTimePasswordTTL time.Duration `yaml:"one_time_password_ttl"`
	// SignIn limits sign-in attempts before any password is hashed.
	SignIn SignInConfig `yaml:"sign_in"`
}

// SignInConfig: per client address, whatever the name, a burst then one
// attempt per interval (20, then one per 3s); at most MaxHashing password
// hashes at once (the number of CPUs), a sign-in waiting up to HashWait
// (500ms) for one before it gets 503.
type SignInConfig struct {
	AddressBurst int           `yaml:"address_burst"`
	AddressEvery time.Duration `yaml:"address_every"`
	MaxHashing   int           `yaml:"max_hashing"`
	HashWait     time.Duration `yaml:"hash_wait"`
}

// CannedReply is a prepared agent reply.
type CannedReply struct {
	ID    string `yaml:"id"`
	Title string `yaml:"title"`
	Text  string `yaml:"text"`
	Lang  string `yaml:"lang"`
}

// NoticeTexts are what the queue tells customers; empty fields keep the
// built-in text. Placeholders: {position}, {wait}, {opens}, {agent}.
type NoticeTexts struct {
	Queued           string `yaml:"queued"`
	QueuedNoEstimate string `yaml:"queued_no_estimate"`
	OutOfHours       string `yaml:"out_of_hours"`
	NoAgent          string `yaml:"no_agent"`
	Assigned         string `yaml:"assigned"`
	Reopened         string `yaml:"reopened"`
	Resolved         string `yaml:"resolved"`
	CSATQuestion     string `yaml:"csat_question"`
	CSATThanks       string `yaml:"csat_thanks"`
}

func defaultConfig() Config {
	return Config{
		HTTPAddr:        "127.0.0.1:8080",
		DB:              "./data/parley.db",
		LogLevel:        "info",
		LogFormat:       "json",
		ShutdownTimeout: 15 * time.Second,
		Telegram:        TelegramConfig{Mode: "poll", APIURL: "https://api.telegram.org"},
		VK:              VKConfig{Mode: "callback", APIURL: "https://api.vk.com"},
		Web:             WebConfig{MaxMessageBytes: 4096, RatePerSecond: 1},
		Handoff:         HandoffConfig{ReopenWindow: 24 * time.Hour, Capacity: 5},
		HTTP:            HTTPConfig{ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second, IdleTimeout: 60 * time.Second},
	}
}

// loadConfigFile merges a YAML config file over cfg. Unknown keys are errors,
// so a typo does not silently leave a default in place.
func loadConfigFile(cfg *Config, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	// A file with nothing set (empty, or comments only) keeps the defaults:
	// decoding its null document would zero them.
	var probe map[string]any
	if err := yaml.Unmarshal(data, &probe); err == nil && len(probe) == 0 {
		return nil
	}
	if err := yaml.UnmarshalWithOptions(data, cfg, yaml.Strict()); err != nil {
		return fmt.Errorf("%s: %s", path, yaml.FormatError(err, false, true))
	}
	return nil
}

// applyEnv overrides cfg from PARLEY_* variables. getenv is os.Getenv in
// production and a map in tests.
func applyEnv(cfg *Config, getenv func(string) string) error {
	str := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	str("PARLEY_HTTP_ADDR", &cfg.HTTPAddr)
	str("PARLEY_DB", &cfg.DB)
	str("PARLEY_FLOWS", &cfg.Flows)
	str("PARLEY_PUBLIC_URL", &cfg.PublicURL)
	str("PARLEY_LOG_LEVEL", &cfg.LogLevel)
	str("PARLEY_LOG_FORMAT", &cfg.LogFormat)
	str("PARLEY_METRICS_TOKEN", &cfg.MetricsToken)
	str("PARLEY_SMTP_PASSWORD", &cfg.Outbound.SMTP.Password)
	str("PARLEY_TELEGRAM_TOKEN", &cfg.Telegram.Token)
	str("PARLEY_TELEGRAM_MODE", &cfg.Telegram.Mode)
	str("PARLEY_TELEGRAM_API_URL", &cfg.Telegram.APIURL)
	str("PARLEY_TELEGRAM_WEBHOOK_SECRET", &cfg.Telegram.WebhookSecret)
	str("PARLEY_VK_TOKEN", &cfg.VK.Token)
	str("PARLEY_VK_MODE", &cfg.VK.Mode)
	str("PARLEY_VK_API_URL", &cfg.VK.APIURL)
	str("PARLEY_VK_SECRET", &cfg.VK.Secret)
	str("PARLEY_VK_CONFIRMATION", &cfg.VK.Confirmation)
	str("PARLEY_WEB_SECRET", &cfg.Web.Secret)
	str("PARLEY_WEB_IDENTITY_SECRET", &cfg.Web.IdentitySecret)
	if v := getenv("PARLEY_WEB_ALLOWED_ORIGINS"); v != "" {
		cfg.Web.AllowedOrigins = splitList(v)
	}
	str("PARLEY_SECRETS_FILE", &cfg.FlowHTTP.SecretsFile)
	if v := getenv("PARLEY_FLOW_HTTP_ALLOW_NETWORKS"); v != "" {
		cfg.FlowHTTP.AllowNetworks = splitList(v)
	}
	if v := getenv("PARLEY_WEB_TRUSTED_PROXIES"); v != "" {
		cfg.Web.TrustedProxies = splitList(v)
	}
	if err := webFloodEnv(cfg, getenv); err != nil {
		return err
	}
	if v := getenv("PARLEY_VK_GROUP_ID"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return fmt.Errorf("PARLEY_VK_GROUP_ID=%q: want a positive number", v)
		}
		cfg.VK.GroupID = id
	}
	return nil
}

// webFloodEnv reads the web chat's flood limits from the environment.
func webFloodEnv(cfg *Config, getenv func(string) string) error {
	if v := getenv("PARLEY_WEB_NEW_VISITOR_RATE"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("PARLEY_WEB_NEW_VISITOR_RATE=%q: want new visitors per second per address, e.g. 0.2 (-1 = no limit)", v)
		}
		cfg.Web.NewVisitorRate = f
	}
	for _, e := range []struct {
		name string
		dst  *int
	}{
		{"PARLEY_WEB_NEW_VISITOR_BURST", &cfg.Web.NewVisitorBurst},
		{"PARLEY_WEB_MAX_CONNS_PER_ADDRESS", &cfg.Web.MaxConnsPerAddress},
		{"PARLEY_WEB_MAX_CONNS", &cfg.Web.MaxConns},
	} {
		if v := getenv(e.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return fmt.Errorf("%s=%q: want a positive number", e.name, v)
			}
			*e.dst = n
		}
	}
	return nil
}

// validate checks the web chat's flood limits (0 means the default).
func (w WebConfig) validate() []string {
	var errs []string
	for _, n := range []struct {
		key string
		v   int
	}{{"web.new_visitor_burst", w.NewVisitorBurst}, {"web.max_conns_per_address", w.MaxConnsPerAddress}, {"web.max_conns", w.MaxConns}} {
		if n.v < 0 {
			errs = append(errs, fmt.Sprintf("%s: %d: want a positive number", n.key, n.v))
		}
	}
	if _, err := webchat.ParseTrustedProxies(w.TrustedProxies); err != nil {
		errs = append(errs, "web.trusted_proxies (PARLEY_WEB_TRUSTED_PROXIES): "+err.Error())
	}
	return errs
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// validate reports every problem in cfg at once.
func (cfg *Config) validate() error {
	var errs []string
	if cfg.Telegram.Token != "" {
		switch cfg.Telegram.Mode {
		case "poll":
		case "webhook":
			if cfg.PublicURL == "" {
				errs = append(errs, "telegram webhook mode needs PARLEY_PUBLIC_URL")
			}
			if cfg.Telegram.WebhookSecret == "" {
				errs = append(errs, "telegram webhook mode needs PARLEY_TELEGRAM_WEBHOOK_SECRET")
			}
		default:
			errs = append(errs, fmt.Sprintf("PARLEY_TELEGRAM_MODE=%q: want poll or webhook", cfg.Telegram.Mode))
		}
	}
	if cfg.VK.Token != "" {
		if cfg.VK.GroupID == 0 {
			errs = append(errs, "vk needs PARLEY_VK_GROUP_ID")
		}
		switch cfg.VK.Mode {
		case "longpoll":
		case "callback":
			if cfg.VK.Secret == "" {
				errs = append(errs, "vk callback mode needs PARLEY_VK_SECRET")
			}
			if cfg.VK.Confirmation == "" {
				errs = append(errs, "vk callback mode needs PARLEY_VK_CONFIRMATION")
			}
		default:
			errs = append(errs, fmt.Sprintf("PARLEY_VK_MODE=%q: want callback or longpoll", cfg.VK.Mode))
		}
	}
	if _, err := zerolog.ParseLevel(cfg.LogLevel); err != nil || cfg.LogLevel == "" {
		errs = append(errs, fmt.Sprintf("PARLEY_LOG_LEVEL=%q: want trace, debug, info, warn, error or disabled", cfg.LogLevel))
	}
	if cfg.LogFormat != "json" && cfg.LogFormat != "console" {
		errs = append(errs, fmt.Sprintf("PARLEY_LOG_FORMAT=%q: want json or console", cfg.LogFormat))
	}
	if _, port, err := net.SplitHostPort(cfg.HTTPAddr); err != nil || port == "" {
		errs = append(errs, fmt.Sprintf("PARLEY_HTTP_ADDR=%q: want HOST:PORT, e.g. 127.0.0.1:8080", cfg.HTTPAddr))
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		errs = append(errs, fmt.Sprintf("PARLEY_HTTP_ADDR=%q: port %q is not a number from 0 to 65535", cfg.HTTPAddr, port))
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"http.read_header_timeout", cfg.HTTP.ReadHeaderTimeout}, {"http.read_timeout", cfg.HTTP.ReadTimeout},
		{"http.write_timeout", cfg.HTTP.WriteTimeout}, {"http.idle_timeout", cfg.HTTP.IdleTimeout}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Sprintf("%s: %v: want a positive duration such as 30s", d.key, d.v))
		}
	}
	errs = append(errs, cfg.Web.validate()...)
	if _, err := flows.ParseNetworks(cfg.FlowHTTP.AllowNetworks); err != nil {
		errs = append(errs, "flow_http.allow_networks: "+err.Error())
	}
	if len(errs) > 0 {
		return fmt.Errorf("config: %s", strings.Join(errs, "; "))
	}
	return nil
}
