# SalesPulse developer commands. `make help` lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash
SP := .venv/bin/salespulse

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  %-12s %s\n", $$1, $$2}'

install: ## create .venv and install SalesPulse with its dev tools
	@bash scripts/bootstrap.sh

test: ## install, start the stack, lint, type-check, run every test, stop the stack
	@bash scripts/test.sh

demo: install ## the main job: stack, topics, workers, API and a live simulated sales org
	@$(SP) demo

up: install ## start the local Kafka + PostgreSQL
	@$(SP) stack up

down: ## stop the local Kafka + PostgreSQL
	@$(SP) stack down

status: ## show the local stack
	@$(SP) stack status

lint: install ## ruff lint + format check, mypy
	@.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy

format: install ## apply ruff's formatting and safe fixes
	@.venv/bin/ruff check --fix . && .venv/bin/ruff format .

bench: install ## run the benchmarks (bench/README.md)
	@bash bench/run.sh

bench-peers: install ## the peers benchmark: SalesPulse vs Quix Streams vs Kafka Streams (bench/peers/README.md)
	@bash bench/peers/run.sh

.PHONY: help install test demo up down status lint format bench bench-peers
