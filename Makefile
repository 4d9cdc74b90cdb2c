# tlsfloor build and test targets. `make test` is what CI runs.
GO      ?= go
PKGS    ?= ./...
FUZZTIME ?= 20s

.PHONY: build test unit tidy-check test-race vet fmt-check cross fuzz bench update test-wine

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/tlsfloor ./cmd/tlsfloor

# test: formatting, vet (Linux and Windows), cross builds, every Go test,
# then the Windows registry end to end under Wine.
test: fmt-check tidy-check vet cross unit test-wine

unit:
	$(GO) test -count=1 $(PKGS)

test-race:
	$(GO) test -race -count=1 $(PKGS)

vet:
	$(GO) vet $(PKGS)
	GOOS=windows $(GO) vet $(PKGS)

tidy-check:
	$(GO) mod tidy -diff

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

cross:
	GOOS=windows GOARCH=amd64 $(GO) build -o /dev/null ./cmd/tlsfloor
	GOOS=windows GOARCH=arm64 $(GO) build -o /dev/null ./cmd/tlsfloor
	GOOS=darwin  GOARCH=arm64 $(GO) build -o /dev/null ./cmd/tlsfloor
	GOOS=darwin  GOARCH=amd64 $(GO) build -o /dev/null ./cmd/tlsfloor

update:
	$(GO) test $(PKGS) -update

bench:
	$(GO) test -run '^$$' -bench . -benchtime 3x $(PKGS)

# test-wine: Windows registry code against a real (Wine) registry; needs
# wine wine64 binutils-mingw-w64-x86-64 and the kit in WINE_KIT (default
# ../shared/wine). CI=true makes missing tools fail instead of skip.
test-wine:
	bash testdata/wine/e2e.sh
