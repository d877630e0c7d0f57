# Rota: `make dev` serves the whole API locally; `make test` runs every test. Both set up the
# local AWS stack (moto) and tools themselves; see infra/stack.
.PHONY: dev test bench lint tools

dev:
	infra/stack run cargo run -p dev-server

test:
	infra/stack run sh -c 'cfn-lint template.yaml && cargo test --workspace'

bench:
	infra/stack run bench/run

tools:
	infra/stack tools
