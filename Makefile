# LMKit: the two commands of the README.
#   make demo  — install what is missing, fetch the real models and data, build (release), run the tour
#   make test  — install what is missing, fetch the assets the tests use, build and run every test

SWIFT ?= swift

.PHONY: demo test setup assets build release bench clean format format-check

setup:
	@scripts/setup

assets: setup
	@scripts/fetch-assets
	@scripts/client-venv >/dev/null || echo "make: could not install the openai client venv (scripts/client-venv); its test will be skipped" >&2

release: setup
	$(SWIFT) build -c release

demo: assets release
	.build/release/lmkit tour

test: assets format-check
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

# Formatting is enforced: swift-format from the Swift toolchain, configured in .swift-format
# (4 spaces, 140 columns). `make format` rewrites the files; the check fails on any difference.
format:
	$(SWIFT) format -i -r -p Sources Tests

format-check:
	@$(SWIFT) format lint --strict -r -p Sources Tests || { echo "make: unformatted Swift code (run make format)" >&2; exit 1; }

bench: release
	benchmarks/engine

clean:
	rm -rf .build
