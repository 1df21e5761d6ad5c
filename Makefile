# LMKit: the two commands of the README.
#   make demo  — install what is missing, fetch the real models and data, build (release), run the tour
#   make test  — install what is missing, fetch the assets the tests use, build and run every test

SWIFT ?= swift

.PHONY: demo test setup assets build release bench clean

setup:
	@scripts/setup

assets: setup
	@scripts/fetch-assets
	@scripts/client-venv >/dev/null || echo "make: could not install the openai client venv (scripts/client-venv); its test will be skipped" >&2

release: setup
	$(SWIFT) build -c release

demo: assets release
	.build/release/lmkit tour

test: assets
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

bench: release
	benchmarks/engine

clean:
	rm -rf .build
