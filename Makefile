# The interface for people and CI alike. Every target installs what it needs on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SCALE_EVENTS ?= 100000
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: help install kafka-jars gazetteer test unit integration e2e faults lint up down broker status bench bench-api bench-scale schemas clean

help:
	@echo "make up      start Sitrep: Kafka, the worker, the API, the seeds (DETACH=1 to return)"
	@echo "make down    stop everything make up started"
	@echo "make test    lint, then every test (starts its own broker unless KAFKA_BOOTSTRAP_SERVERS is set)"
	@echo "make lint    ruff + mypy --strict"
	@echo "make faults  the fault suite on a 3-node cluster (SHORT=1: the short form, meant for CI)"
	@echo "make bench   benchmarks: projection, the processors, the API, scale (see BENCHMARKS.md)"
	@echo "make bench-scale SCALE_EVENTS=1000000   the scale benchmark alone (default 100000 events)"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

kafka-jars: $(STAMP)
	$(BIN)/sitrep kafka fetch

# The world gazetteer's index, built once into the cache like the jars (a no-op once there).
gazetteer: $(STAMP)
	$(BIN)/sitrep gazetteer

lint: $(STAMP)
	$(BIN)/ruff check services tests bench
	$(BIN)/ruff format --check services tests bench
	$(BIN)/mypy
	$(BIN)/mypy --strict bench
	$(BIN)/sitrep schemas --check

test: lint kafka-jars gazetteer
	$(BIN)/pytest

# Workers, brokers and an API killed under load, poison on the log: what held (see BENCHMARKS.md).
faults: kafka-jars
	$(BIN)/python -m tests.faults.suite $(if $(SHORT),--short,)

unit: gazetteer
	$(BIN)/pytest tests/unit

integration: kafka-jars
	$(BIN)/pytest tests/integration

e2e: kafka-jars
	$(BIN)/pytest tests/e2e

up: kafka-jars gazetteer
	$(BIN)/sitrep up $(if $(DETACH),--detach,)

down: $(STAMP)
	$(BIN)/sitrep down

broker: kafka-jars
	$(BIN)/sitrep kafka start

status: $(STAMP)
	$(BIN)/sitrep kafka status

bench: kafka-jars
	$(BIN)/python -m bench.projection
	$(BIN)/python -m bench.folding
	$(BIN)/python -m bench.processors
	$(BIN)/python -m bench.api
	$(BIN)/python -m bench.scale --events $(SCALE_EVENTS)

bench-api: kafka-jars
	$(BIN)/python -m bench.api

bench-scale: kafka-jars
	$(BIN)/python -m bench.scale --events $(SCALE_EVENTS)

schemas: $(STAMP)
	$(BIN)/sitrep schemas

clean: down
	rm -rf .sitrep
