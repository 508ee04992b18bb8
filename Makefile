# Homeline: the two commands a new user needs.
#   make run    install what is missing, build the UI and the app, open the Homeline window
#   make test   install and start everything the tests need, run the whole suite
# Other targets are steps of these two.

CARGO ?= cargo
APP_FEATURES := --features custom-protocol

.PHONY: run test deps deps-test ui ui-deps app app-release cli package bench clean fuzz

run: deps ui
	$(CARGO) run --release -p homeline-app $(APP_FEATURES)

test:
	scripts/test-all.sh

deps:
	scripts/install-deps.sh build

deps-test:
	scripts/install-deps.sh test

# npm install --no-save rather than npm ci: see scripts/test-all.sh.
ui-deps:
	cd ui && npm install --no-save --no-audit --no-fund

ui: ui-deps
	cd ui && npm run build

app: ui
	$(CARGO) build -p homeline-app $(APP_FEATURES)

app-release: ui
	$(CARGO) build --release -p homeline-app $(APP_FEATURES)

cli:
	$(CARGO) build --release -p homeline

# The .deb (app + CLI + desktop entry with the sip:/sips:/tel: handlers) in target/release/bundle/deb/.
package: deps ui-deps
	scripts/package.sh

bench: deps-test ui
	scripts/bench-app.sh

clean:
	$(CARGO) clean
	rm -rf ui/dist ui/node_modules tests/out

# Coverage-guided fuzzing on stable Rust (libFuzzer): `make fuzz` lists the targets,
# `make fuzz TARGET=sip_receive SECONDS=600` runs one, `make fuzz TARGET=--smoke` all briefly.
fuzz:
	scripts/fuzz.sh $(TARGET) $(SECONDS)
