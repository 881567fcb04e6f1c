# The two set-up commands of the README are `make demo` and `make test`; both install what they need.
.PHONY: demo test lint fmt bench clean

demo:  ## demo site → crawl → archive → index → serve on the embedded store
	scripts/bootstrap.sh
	.venv/bin/nianbao demo

test:  ## ruff + the whole test suite (installs Chromium, Tesseract, poppler, catdoc when root)
	scripts/bootstrap.sh --dev --system
	.venv/bin/ruff check .
	.venv/bin/python -m pytest

lint:
	scripts/bootstrap.sh --dev
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

fmt:
	scripts/bootstrap.sh --dev
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

bench:  ## every benchmark at its default (small) size; benchmarks/README.md has the full sizes
	scripts/bootstrap.sh --dev --system  # sqlite-utils (the peer), Chromium (render), wrk (load)
	.venv/bin/python -m benchmarks all

clean:
	rm -rf data .pytest_cache .ruff_cache test-artifacts
