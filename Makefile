GO ?= go
BIN := bin/parley

.PHONY: build run test bench fuzz vet clean

build:
	$(GO) build -o $(BIN) ./cmd/parley

run: build
	./$(BIN) serve --demo-agent

# Every test, browser tests included (they skip with a message when chromium is absent
# locally; CI installs it). Fuzz targets run their seed corpus only.
test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 15m ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./...

# Long fuzzing, one target at a time: make fuzz FUZZ=FuzzLoad PKG=./flows/syntax
FUZZTIME ?= 60s
fuzz:
	$(GO) test -run '^$$' -fuzz '$(FUZZ)' -fuzztime $(FUZZTIME) $(PKG)

clean:
	rm -rf bin
