package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestConfigLayers(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "parley.yaml")
	os.WriteFile(file, []byte(`
http_addr: 0.0.0.0:9000
link:
  ttl: 5m
  telegram_bot: posylka_bot
db: /var/lib/parley/parley.db
telegram:
  mode: webhook
handoff:
  time_zone: Asia/Yekaterinburg
  hours: ["mon-fri 09:00-18:00"]
  reopen_window: 2h
  canned:
    - {id: hi, title: Greeting, text: "Здравствуйте!"}
  texts:
    ru: {no_agent: "Все операторы заняты."}
`), 0o644)
	cfg := defaultConfig()
	if err := loadConfigFile(&cfg, file); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"PARLEY_HTTP_ADDR":               "127.0.0.1:7000",
		"PARLEY_TELEGRAM_TOKEN":          "1:x",
		"PARLEY_TELEGRAM_WEBHOOK_SECRET": "s",
		"PARLEY_PUBLIC_URL":              "https://bot.example",
		"PARLEY_VK_GROUP_ID":             "42",
		"PARLEY_WEB_ALLOWED_ORIGINS":     "https://shop.example, https://www.shop.example",
	}
	if err := applyEnv(&cfg, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPAddr != "127.0.0.1:7000" || cfg.DB != "/var/lib/parley/parley.db" || cfg.Telegram.Mode != "webhook" ||
		cfg.VK.GroupID != 42 || cfg.Link.TTL != 5*time.Minute || cfg.Link.TelegramBot != "posylka_bot" || cfg.Handoff.ReopenWindow != 2*time.Hour || cfg.Telegram.APIURL != "https://api.telegram.org" {
		t.Errorf("layered config wrong: %+v", cfg)
	}
	if diff := cmp.Diff([]string{"https://shop.example", "https://www.shop.example"}, cfg.Web.AllowedOrigins); diff != "" {
		t.Errorf("origins: %s", diff)
	}
	hc, err := handoffConfig(cfg.Handoff, "ru")
	if err != nil {
		t.Fatal(err)
	}
	if hc.Texts["ru"].NoAgent != "Все операторы заняты." || len(hc.Canned) != 1 || hc.Hours.Always() {
		t.Errorf("handoff config not mapped: %+v", hc)
	}
}

func TestConfigErrorsSayWhat(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "parley.yaml")
	os.WriteFile(file, []byte("http_adr: 1\n"), 0o644)
	cfg := defaultConfig()
	err := loadConfigFile(&cfg, file)
	if err == nil || !strings.Contains(err.Error(), "http_adr") || !strings.Contains(err.Error(), file) {
		t.Errorf("unknown key: err = %v, want the file and the key named", err)
	}

	for env, want := range map[string]string{
		"PARLEY_VK_GROUP_ID=abc":    "PARLEY_VK_GROUP_ID",
		"PARLEY_TELEGRAM_MODE=push": "poll or webhook",
		"PARLEY_VK_MODE=push":       "callback or longpoll",
	} {
		k, v, _ := strings.Cut(env, "=")
		vars := map[string]string{k: v, "PARLEY_TELEGRAM_TOKEN": "1:x", "PARLEY_VK_TOKEN": "t", "PARLEY_VK_GROUP_ID": "1"}
		if k == "PARLEY_VK_GROUP_ID" {
			vars[k] = v
		}
		cfg := defaultConfig()
		err := applyEnv(&cfg, func(k string) string { return vars[k] })
		if err == nil {
			err = cfg.validate()
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want it to mention %q", env, err, want)
		}
	}
	cfg = defaultConfig()
	cfg.Telegram = TelegramConfig{Token: "1:x", Mode: "webhook"}
	err = cfg.validate()
	if err == nil || !strings.Contains(err.Error(), "PARLEY_PUBLIC_URL") || !strings.Contains(err.Error(), "PARLEY_TELEGRAM_WEBHOOK_SECRET") {
		t.Errorf("webhook without URL and secret: err = %v, want both named", err)
	}
}
