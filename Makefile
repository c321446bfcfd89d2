# mamori: `make demo` and `make check` are the two commands (README.md).
# Both install missing Debian packages first (`make deps`).

BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
FUZZ_SECONDS ?= 20
PYTEST     ?= pytest-3
MESON_TEST = meson test --print-errorlogs --num-processes 2

.PHONY: all deps build asan fuzz-build demo check unit vectors sanitize fuzz system bench format clean

all: build

deps:
	@sh scripts/deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD_ASAN)/build.ninja:
	meson setup $(BUILD_ASAN) -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug

asan: deps $(BUILD_ASAN)/build.ninja
	ninja -C $(BUILD_ASAN)

$(BUILD_FUZZ)/build.ninja:
	CC=clang meson setup $(BUILD_FUZZ) -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
	    -Dc_args=-fsanitize=fuzzer-no-link

fuzz-build: deps $(BUILD_FUZZ)/build.ninja
	ninja -C $(BUILD_FUZZ)

# The demo, then (as root) mamori-guard enforcing over an install of the demo's
# programs: an unlisted program copied in is refused and recorded (POL-5).
demo: build
	./$(BUILD)/src/cmd/mamori demo
	@d=$$(mktemp -d /tmp/mamori-demo-install.XXXXXX) && mkdir -p $$d/bin && \
	    cp $(BUILD)/src/cmd/mamori $(BUILD)/src/cmd/mamori-terminald $(BUILD)/src/cmd/mamori-devsim $$d/bin/ && \
	    MAMORI_BUILD=$(CURDIR)/$(BUILD) sh scripts/guard-demo.sh $$d; rc=$$?; rm -rf $$d; exit $$rc

unit: build
	$(MESON_TEST) -C $(BUILD) --suite unit

vectors: build
	$(MESON_TEST) -C $(BUILD) --suite vectors

sanitize: asan
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=detect_leaks=1 \
	    $(MESON_TEST) -C $(BUILD_ASAN) --suite unit --suite vectors

fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) sh scripts/fuzz.sh $(BUILD_FUZZ)

# pytest exits 5 when it collected nothing; that is a failure here too.
system: build
	MAMORI_BUILD=$(CURDIR)/$(BUILD) $(PYTEST) -q -ra tests/system

check: build unit vectors sanitize fuzz system
	@echo "make check: all suites passed"

bench: build
	sh bench/run.sh $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
