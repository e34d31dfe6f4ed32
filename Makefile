# spotifyhist developer tasks. `make help` lists them.
GO ?= go
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable

.PHONY: help
help: ## list the targets
	@grep -E '^[a-zA-Z/_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-16s %s\n", $$1, $$2}'

.PHONY: run
run: ## run the daemon in demo mode
	$(GO) run ./cmd/spotifyhist serve --demo

.PHONY: test
test: ## run every test (PostgreSQL tests skip without SPOTIFYHIST_TEST_DATABASE_URL)
	$(GO) test -race -count=1 ./...

.PHONY: test/postgres
test/postgres: ## run every test against the local PostgreSQL too
	SPOTIFYHIST_TEST_DATABASE_URL='$(TEST_DATABASE_URL)' SPOTIFYHIST_TEST_REQUIRE_POSTGRES=1 $(GO) test -race -count=1 ./...

.PHONY: lint
lint: ## go vet and gofmt
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)

.PHONY: build
build: ## build a static binary
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-X main.buildVersion=$$(git describe --tags --always --dirty)" -o bin/spotifyhist ./cmd/spotifyhist

.PHONY: ci
ci: ## what CI runs
	bash .ci/run
