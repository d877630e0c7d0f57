# Rota: `make dev` serves the whole API locally; `make test` runs every test. Both set up the
# local AWS stack (moto) and the tools themselves; see infra/stack.
.PHONY: dev test lint openapi bench bench-solver cost package tools build-tools platform-admin nightly

dev:
	infra/stack run cargo run -p dev-server

# The cargo tests and the contract run (schemathesis), side by side on a local stack each.
test: lint
	infra/test

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --quiet -- -D warnings

# A sweep of the nightly worker now (closing windows, reminders, weekly hours, stale drafts).
# Against a running `make dev`, give its stack's port: ROTA_AWS_PORT=… make nightly.
nightly:
	infra/stack run cargo run --quiet -p nightly --bin sweep-now

# The whole API's document, committed so frontends can generate clients; a test fails when stale.
openapi:
	cargo run --quiet -p dev-server --bin openapi > openapi.json

# Release builds with cargo-lambda (and zig): the build tools are installed for these targets only.
# Then auto-fill against OR-Tools CP-SAT (bench-solver).
bench:
	infra/stack build-tools
	infra/stack run bench/run
	bench/solver/run

# Auto-fill's solver against OR-Tools CP-SAT at equal time (its own venv; docs/auto-fill.md).
bench-solver:
	bench/solver/run

# What a million requests cost: a 200-staff organisation-day replayed, priced per route
# (docs/cost.md); rewrites docs/cost-figures.md, docs/cost.svg and README's summary.
cost:
	infra/stack run cargo bench -p api-tests --bench cost

# `sam build` of every function (arm64, no Docker) into .aws-sam/; minutes, so not part of `test`.
package:
	infra/stack package

tools:
	infra/stack tools

build-tools:
	infra/stack build-tools

# The first platform admin (and any later one): never through the public API. Prints the
# invitation link to pass on. Against AWS, run the same binary with the stack's settings.
platform-admin:
	@test -n "$(EMAIL)" || { echo "usage: make platform-admin EMAIL=you@example.com" >&2; exit 2; }
	infra/stack run cargo run --quiet -p admin --bin platform-admin -- --email "$(EMAIL)"
