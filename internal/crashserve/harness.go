package crashserve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Config is one run of the harness. Zero fields take the defaults noted.
type Config struct {
	// Bin is the parley binary; "" builds ./cmd/parley from Root.
	Bin  string
	Root string // the module's root directory (for go build)
	Dir  string // a fresh work directory: database, project, server log
	// Kills is how many times the server is killed with SIGKILL; 0 runs the
	// load for Duration without killing.
	Kills int
	// MinUp and MaxUp bound the server's random uptime before a kill
	// (default 0.5 s and 3 s).
	MinUp, MaxUp time.Duration
	// TelegramChats and VKChats send messages in turn, Rate messages a
	// second over all of them (defaults 60, 20 and 25/s).
	TelegramChats, VKChats int
	Rate                   float64
	// Aim times each kill (after the random uptime) to land within
	// AimWindow (default 3 ms) after Telegram accepted a reply: inside the
	// window between a send and the removal of its outbox entry, where a
	// kill makes a repeat. Without it kills fall at uniformly random moments.
	Aim       bool
	AimWindow time.Duration
	// SlowSync, when > 0, runs the server under strace with every fsync
	// and fdatasync held this long before it starts: a slow or busy disk,
	// where a delivered reply stays longer in the outbox. Needs strace (with
	// --seccomp-bpf, so that other system calls run at full speed).
	SlowSync time.Duration
	// FloodRate, when > 0, adds one more Telegram chat that sends this many
	// messages a second; its replies are left out of the latency figures.
	FloodRate float64
	// Duration is the load time of a run without kills (default 30 s).
	Duration time.Duration
	// Settle bounds the wait for the last replies after the load (default
	// 5 min; it ends sooner when all are in or none came for 10 s).
	Settle time.Duration
	// Progress gets a line per kill and phase; nil for none.
	Progress io.Writer
}

func (c *Config) defaults() {
	if c.MinUp <= 0 {
		c.MinUp = 500 * time.Millisecond
	}
	if c.MaxUp < c.MinUp {
		c.MaxUp = max(3*time.Second, c.MinUp)
	}
	if c.TelegramChats == 0 && c.VKChats == 0 {
		c.TelegramChats, c.VKChats = 60, 20
	}
	if c.Rate <= 0 {
		c.Rate = 25
	}
	if c.Duration <= 0 {
		c.Duration = 30 * time.Second
	}
	if c.Settle <= 0 {
		c.Settle = 5 * time.Minute
	}
	if c.AimWindow <= 0 {
		c.AimWindow = 3 * time.Millisecond
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
}

// Chat ids: Telegram private chats from tgBase, VK users from vkBase; the
// flooding chat is floodChat.
const (
	tgBase    = 1000
	vkBase    = 500000
	floodChat = 999
)

// Run builds and runs the server under load, kills and restarts it as
// configured, waits for the last replies and reports what the customers saw.
func Run(ctx context.Context, cfg Config) (Report, error) {
	cfg.defaults()
	if cfg.Dir == "" {
		return Report{}, errors.New("crashserve: Config.Dir is empty: give a fresh work directory")
	}
	if cfg.Bin == "" {
		cfg.Bin = filepath.Join(cfg.Dir, "parley")
		fmt.Fprintf(cfg.Progress, "building %s\n", cfg.Bin)
		build := exec.CommandContext(ctx, "go", "build", "-o", cfg.Bin, "./cmd/parley")
		build.Dir = cfg.Root
		if out, err := build.CombinedOutput(); err != nil {
			return Report{}, fmt.Errorf("crashserve: go build ./cmd/parley: %v\n%s", err, out)
		}
	}
	project, err := writeProject(cfg.Dir)
	if err != nil {
		return Report{}, err
	}
	tgLog, vkLog := newLog(), newLog()
	stop := make(chan struct{})
	defer close(stop)
	tg, err := serve(&fakeTelegram{log: tgLog, stop: stop})
	if err != nil {
		return Report{}, err
	}
	defer tg.close()
	fv := &fakeVK{log: vkLog, stop: stop}
	vks, err := serve(fv)
	if err != nil {
		return Report{}, err
	}
	defer vks.close()
	fv.url = vks.url

	addr, err := freeAddr()
	if err != nil {
		return Report{}, err
	}
	srv := &process{bin: cfg.Bin, project: project, slowSync: cfg.SlowSync, logPath: filepath.Join(cfg.Dir, "serve.log"), env: []string{
		"PARLEY_HTTP_ADDR=" + addr,
		"PARLEY_DB=" + filepath.Join(cfg.Dir, "parley.db"),
		"PARLEY_TELEGRAM_TOKEN=" + Token,
		"PARLEY_TELEGRAM_API_URL=" + tg.url,
		"PARLEY_TELEGRAM_MODE=poll",
		"PARLEY_VK_TOKEN=crash-serve-vk-token",
		"PARLEY_VK_GROUP_ID=" + strconv.Itoa(GroupID),
		"PARLEY_VK_MODE=longpoll",
		"PARLEY_VK_API_URL=" + vks.url,
		"PARLEY_LOG_LEVEL=warn",
	}}

	loadCtx, stopLoad := context.WithCancel(ctx)
	var load sync.WaitGroup
	load.Go(func() { feed(loadCtx, cfg, tgLog, vkLog) })
	if cfg.FloodRate > 0 {
		load.Go(func() { flood(loadCtx, cfg.FloodRate, tgLog) })
	}
	kills, runErr := srv.cycle(ctx, cfg, tgLog)
	var stopTook time.Duration
	var cut bool
	stopLoad()
	load.Wait()
	if runErr == nil {
		fmt.Fprintf(cfg.Progress, "load stopped; waiting up to %s for the last replies\n", cfg.Settle)
		cut = settle(ctx, cfg.Settle, tgLog, vkLog)
		stopTook, runErr = srv.stop()
	} else {
		srv.kill()
	}
	if runErr != nil {
		return Report{}, runErr
	}
	rep := analyse(tgLog, vkLog, kills)
	rep.StopTook, rep.SettleCut = stopTook, cut
	return rep, nil
}

// cycle starts the server and, for a run with kills, kills and restarts it
// Kills times; it returns the kill times. The server runs on when it returns.
func (p *process) cycle(ctx context.Context, cfg Config, tgLog *log) ([]time.Time, error) {
	if err := p.start(); err != nil {
		return nil, err
	}
	if cfg.Kills == 0 {
		fmt.Fprintf(cfg.Progress, "load for %s\n", cfg.Duration)
		return nil, sleep(ctx, cfg.Duration)
	}
	var kills []time.Time
	for i := 1; i <= cfg.Kills; i++ {
		up := cfg.MinUp + rand.N(cfg.MaxUp-cfg.MinUp+1)
		if err := sleep(ctx, up); err != nil {
			return kills, err
		}
		if err := p.checkAlive(); err != nil {
			return kills, err
		}
		if cfg.Aim {
			aim(ctx, tgLog, cfg.AimWindow)
		}
		kills = append(kills, time.Now())
		p.kill()
		fmt.Fprintf(cfg.Progress, "kill %d/%d after %s up\n", i, cfg.Kills, up.Round(time.Millisecond))
		if err := p.start(); err != nil {
			return kills, err
		}
	}
	// The last run serves the rest of the load for a while.
	return kills, sleep(ctx, cfg.MaxUp)
}

// aim waits for the next reply Telegram accepts (at most 2 s), then a
// random part of window.
func aim(ctx context.Context, l *log, window time.Duration) {
	select {
	case <-l.replied: // a stale signal: wait for a fresh one
	default:
	}
	select {
	case <-l.replied:
		time.Sleep(rand.N(window))
	case <-time.After(2 * time.Second):
	case <-ctx.Done():
	}
}

// feed adds messages at cfg.Rate, chats in turn, until ctx ends.
func feed(ctx context.Context, cfg Config, tgLog, vkLog *log) {
	chats := cfg.TelegramChats + cfg.VKChats
	tick := time.NewTicker(time.Duration(float64(time.Second) / cfg.Rate))
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			if c := i % chats; c < cfg.TelegramChats {
				tgLog.add(int64(tgBase+c), now)
			} else {
				vkLog.add(int64(vkBase+c-cfg.TelegramChats), now)
			}
		}
	}
}

// flood is one Telegram chat sending rate messages a second.
func flood(ctx context.Context, rate float64, tgLog *log) {
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			tgLog.add(floodChat, now)
		}
	}
}

// settle waits until every message has its reply, or no reply came for
// 10 s, or limit passed: a server still working through a backlog is given
// the time, one that stopped answering is not waited for.
// It reports whether the limit cut off a server still answering.
func settle(ctx context.Context, limit time.Duration, logs ...*log) (cut bool) {
	end := time.Now().Add(limit)
	last, lastChange := -1, time.Now()
	for time.Now().Before(end) && ctx.Err() == nil {
		n, done := 0, true
		for _, l := range logs {
			msgs, sent := l.snapshot()
			n += len(sent)
			if done && !allAnswered(msgs, sent) {
				done = false
			}
		}
		if done {
			return false
		}
		if n != last {
			last, lastChange = n, time.Now()
		} else if time.Since(lastChange) > 10*time.Second {
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
	return true
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// freeAddr returns a loopback address nobody listens on.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("crashserve: find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// process is the parley server, started again after every kill.
type process struct {
	bin, project, logPath string
	slowSync              time.Duration
	env                   []string
	cmd                   *exec.Cmd
	logFile               *os.File
	exited                chan struct{}
}

func (p *process) start() error {
	if p.logFile == nil {
		f, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("crashserve: server log: %w", err)
		}
		p.logFile = f
	}
	cmd := exec.Command(p.bin, "serve", p.project)
	if p.slowSync > 0 {
		delay := "delay_enter=" + strconv.FormatInt(p.slowSync.Microseconds(), 10)
		cmd = exec.Command("strace", "--seccomp-bpf", "-f", "-qq", "-o", os.DevNull, "-e", "trace=fsync,fdatasync",
			"-e", "inject=fsync,fdatasync:"+delay, "--", p.bin, "serve", p.project)
	}
	// A group of its own: a kill reaches the server under strace too. If
	// the harness dies (a test timeout), the server dies with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = p.logFile, p.logFile
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("crashserve: start %s serve: %w", p.bin, err)
	}
	p.cmd, p.exited = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(p.exited) }()
	return nil
}

// checkAlive fails when the server exited by itself (a start-up error).
func (p *process) checkAlive() error {
	select {
	case <-p.exited:
		return fmt.Errorf("crashserve: parley serve exited by itself (%s); see %s", p.cmd.ProcessState, p.logPath)
	default:
		return nil
	}
}

func (p *process) kill() {
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.exited
	p.groupGone()
}

// groupGone waits (at most 5 s) until no process of the server's group is
// left: under strace the server is not the process we started.
func (p *process) groupGone() {
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if syscall.Kill(-p.cmd.Process.Pid, 0) != nil {
			return
		}
	}
}

// stop ends the last run as an operator would (SIGTERM) and says how long
// it took; it kills the server if it does not stop within 45 s (the
// default shutdown budget is 15 s).
func (p *process) stop() (time.Duration, error) {
	defer p.logFile.Close()
	if err := p.checkAlive(); err != nil {
		return 0, err
	}
	start := time.Now()
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.exited:
		p.groupGone()
		return time.Since(start), nil
	case <-time.After(45 * time.Second):
		p.kill()
		return 0, fmt.Errorf("crashserve: parley serve did not stop within 45 s of SIGTERM; see %s", p.logPath)
	}
}

// writeProject writes the echo project the server runs: a chat's first
// message is answered "hello", every later one "echo <text>", and each
// answer is followed by the question "say something" with two buttons (the
// shape of a support turn: an answer, then "anything else?").
func writeProject(dir string) (string, error) {
	project := filepath.Join(dir, "project")
	files := map[string]string{
		"parley.yaml": "name: crash-serve\ndefault_lang: en\nlanguages: [en]\nstart: main\nsafe_node: main.hello\n",
		"flows/main.yaml": `flow: main
start: hello
nodes:
  hello:
    say: "hello"
    next: loop
  loop:
    ask: "say something"
    buttons:
      - {text: "Yes", value: "yes"}
      - {text: "No", value: "no"}
    set:
      last: text
    next: echo
  echo:
    say: "echo {{ vars.last }}"
    next: loop
`,
	}
	for name, body := range files {
		path := filepath.Join(project, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return "", fmt.Errorf("crashserve: write project: %w", err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			return "", fmt.Errorf("crashserve: write project: %w", err)
		}
	}
	return project, nil
}
