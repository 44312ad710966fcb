GO ?= go
BIN := bin/parley
DATA ?= ../shared/datasets

.PHONY: build run test fuzz-brief bench fuzz crash crash-serve crash-broadcast serve-bench eval vet clean screenshots

build:
	$(GO) build -o $(BIN) ./cmd/parley

# The demo bot on ./data/parley.db: web chat at http://127.0.0.1:8080/, agent console at
# /console/ (a demo agent is created with a one-time password printed at start).
run: build
	./$(BIN) serve --demo-agent

# Every test, browser tests included (they skip locally when chromium is absent; CI installs
# it and fails without it). Fuzz targets run their seed corpus only.
test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 15m ./...
	$(MAKE) fuzz-brief

# A few seconds of real fuzzing for the parsers that take outside input: the YAML loader,
# the template compiler, the session codec, the channel decoders, the JSON quoting the
# hand-written encoders share and the event records' fast decoder (longer runs: make fuzz).
# A count, not a duration: with -fuzztime 4s the fuzzer now and then ends a run with "context
# deadline exceeded" when a worker is busy as the time runs out (seen on a loaded CI machine).
BRIEF ?= 6000x
fuzz-brief:
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(BRIEF) ./flows
	$(GO) test -run '^$$' -fuzz '^FuzzStep$$' -fuzztime $(BRIEF) ./flows
	$(GO) test -run '^$$' -fuzz '^FuzzStateCodec$$' -fuzztime $(BRIEF) ./flows
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(BRIEF) ./flows/syntax
	$(GO) test -run '^$$' -fuzz '^FuzzTemplate$$' -fuzztime $(BRIEF) ./flows/eval
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeUpdate$$' -fuzztime $(BRIEF) ./bot/telegram
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(BRIEF) ./bot/vk
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeClientFrame$$' -fuzztime $(BRIEF) ./bot/webchat
	$(GO) test -run '^$$' -fuzz '^FuzzAppendString$$' -fuzztime $(BRIEF) ./internal/jsonx
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeEvents$$' -fuzztime $(BRIEF) ./store

# Screenshots of the agent console and the web chat widget at 1366 px and 375 px, mid-conversation
# (cmd TestScreenshots, off in `make test`), written to ./screenshots.
SHOTS ?= $(CURDIR)/screenshots
screenshots:
	PARLEY_SCREENSHOTS=$(SHOTS) $(GO) test -count=1 -run '^TestScreenshots$$' -v ./cmd

# Benchmarks with the figures we track (see README "Performance").
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 1 -timeout 30m ./...

# Long fuzzing of one target: make fuzz FUZZ=FuzzLoad PKG=./flows
FUZZTIME ?= 60s
fuzz:
	$(GO) test -run '^$$' -fuzz '$(FUZZ)' -fuzztime $(FUZZTIME) $(PKG)

# kill -9 loop against the store, bbolt and PostgreSQL: every acknowledged turn must survive.
CRASH_ROUNDS ?= 50
crash:
	PARLEY_CRASH_ROUNDS=$(CRASH_ROUNDS) $(GO) test -count=1 -run TestCrashKeepsAcknowledgedTurns -v ./store ./store/postgres

# kill -9 loop against `parley serve` (built from here) under load from fake Telegram and VK
# APIs on loopback: no acknowledged message may lose its reply, a kill may repeat at most the
# one reply per chat in flight, replies keep their order (internal/crashserve). CRASH_AIM=1
# lands every kill within 3 ms after a reply was accepted, where repeats happen.
CRASH_KILLS ?= 20
crash-serve:
	PARLEY_CRASH_SERVE=1 CRASH_KILLS=$(CRASH_KILLS) $(GO) test -count=1 -timeout 30m -run '^TestCrashServe$$' -v ./internal/crashserve

# A broadcast of BCAST_N contacts SIGKILLed half-way and resumed: each flow once (bot).
BCAST_N ?= 10000
crash-broadcast:
	PARLEY_BCAST_CRASH_N=$(BCAST_N) $(GO) test -count=1 -timeout 30m -run '^TestBroadcastSurvivesSIGKILL$$' -v ./bot

# First-reply latency of `parley serve` on Telegram at 25 messages/s from 500 chats, alone and
# with one chat flooding (internal/crashserve).
serve-bench:
	PARLEY_SERVE_BENCH=1 $(GO) test -count=1 -timeout 30m -run '^TestServe' -v ./internal/crashserve

# Understanding measured on the shared data sets (never on their held-out test splits).
eval: build
	./$(BIN) nlu eval intents --train $(DATA)/intents/clinc150/train.jsonl --test $(DATA)/intents/clinc150/val.jsonl
	./$(BIN) nlu eval intents --train $(DATA)/intents/banking77/train.jsonl --folds 5
	./$(BIN) nlu eval intents --train $(DATA)/intents/bitext-support/train.jsonl --folds 5
	./$(BIN) nlu eval sentiment --test $(DATA)/sentiment/ru-sentirueval2015/train.jsonl
	./$(BIN) nlu eval sentiment --test $(DATA)/sentiment/ru-rusentitweet/train.jsonl
	./$(BIN) nlu eval sentiment --test $(DATA)/sentiment/en-tweeteval/val.jsonl
	./$(BIN) nlu eval sentiment --test $(DATA)/sentiment/en-imdb-sentences/all.jsonl

clean:
	rm -rf bin
