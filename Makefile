# The two set-up commands of the README are `make demo` and `make test`; both install what they need.
.PHONY: demo test lint fmt bench bench-search bench-parse bench-crawl clean

demo:  ## demo site → crawl → archive → index → serve on the embedded store
	scripts/bootstrap.sh
	.venv/bin/nianbao demo

test:  ## ruff + the whole test suite (installs Chromium, Tesseract, poppler when root)
	scripts/bootstrap.sh --system
	.venv/bin/ruff check .
	.venv/bin/python -m pytest

lint:
	.venv/bin/ruff check .

fmt:
	.venv/bin/ruff check --fix .

bench:  ## every benchmark at its default (small) size; see benchmarks/README.md for the full sizes
	scripts/bootstrap.sh
	.venv/bin/python -m benchmarks all

clean:
	rm -rf data .pytest_cache .ruff_cache test-artifacts
