# Rota: `make dev` serves the whole API locally; `make test` runs every test. Both set up the
# local AWS stack (moto) and the tools themselves; see infra/stack.
.PHONY: dev test lint bench package tools

dev:
	infra/stack run cargo run -p dev-server

test: lint
	infra/stack run sh -c 'cfn-lint template.yaml && cargo test --workspace'

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --quiet -- -D warnings

bench:
	infra/stack run bench/run

# `sam build` of every function (arm64, no Docker) into .aws-sam/; minutes, so not part of `test`.
package:
	infra/stack package

tools:
	infra/stack tools
