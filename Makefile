# LMKit: the two commands of the README.
#   make demo  — install what is missing, fetch the real models and data, build (release), run the tour
#   make test  — install what is missing, fetch the assets the tests use, build and run every test

SWIFT ?= swift

.PHONY: demo test setup assets build release bench clean

setup:
	@scripts/setup

assets: setup
	@scripts/fetch-assets

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
