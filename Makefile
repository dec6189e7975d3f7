# Stavily agent appliance: build, test, demo, bench, fuzz.
#
#   make            build/stavily (static-pie, musl, vendored libraries)
#   make test       unit + integration tests, ends with "N passed, N failed"
#   make demo       build and run `stavily demo`
#   make asan       unit tests with ASan/UBSan (glibc build), then run them
#   make fuzz       libFuzzer targets, FUZZ_SECONDS each (default 60)
#   make bench      benchmarks that print tables
#
# Sources are discovered: src/*/*.c form the program, test/unit/test_*.c the
# unit tests, test/plugins/*.c the static test plugins, test/fuzz/fuzz_*.c the
# fuzz targets.  Adding a module needs no change here.

VERSION     := 0.1.0
BUILD       := build
VENDOR      ?= build/vendor
MUSL_LIB    := /usr/lib/x86_64-linux-musl
GIT_COMMIT  := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
FUZZ_SECONDS ?= 60
# V=1 shows full compiler command lines.
V ?= 0
ifeq ($(V),0)
Q := @
MSG = @printf '  %-6s %s\n'
else
Q :=
MSG = @true
endif

# Build packages we need from Debian.  Installed automatically when root.
BUILD_PKGS  := musl-tools gperf dpkg-dev make gcc clang libclang-rt-14-dev openssl python3 file binutils jq
BUILD_CMDS  := musl-gcc gperf dpkg-source gcc clang openssl python3 file readelf jq

WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wmissing-prototypes \
           -Wstrict-prototypes -Wpointer-arith -Wvla -Wno-unused-parameter
HARDEN  := -fstack-protector-strong -fPIE -fno-strict-aliasing
DEFS    := -D_GNU_SOURCE -DSTAVILY_VERSION=\"$(VERSION)\"
KINC    := $(VENDOR)/kernel-headers
MUSL_CFLAGS := -std=c11 -O2 -g $(WARN) $(HARDEN) $(DEFS) -Isrc -isystem $(VENDOR)/musl/include \
               -isystem $(KINC) -ffile-prefix-map=$(CURDIR)=. -MMD -MP
LDHARDEN := -Wl,-z,relro,-z,now,-z,noexecstack -Wl,--build-id=none
# Debian's musl-gcc wrapper cannot link -static-pie; link with rcrt1.o by hand.
LINK_PRE  = $(MUSL_LIB)/rcrt1.o $(MUSL_LIB)/crti.o $(shell gcc -print-file-name=crtbeginS.o)
LINK_POST = -L$(VENDOR)/musl/lib -lbearssl -lseccomp -lcjson -linih -L$(MUSL_LIB) -lc \
            $(shell gcc -print-libgcc-file-name) $(shell gcc -print-file-name=crtendS.o) $(MUSL_LIB)/crtn.o
LINK      = gcc -nostdlib -nostartfiles -static-pie $(LDHARDEN)

SRCS      := $(sort $(wildcard src/*/*.c))
LIB_SRCS  := $(filter-out src/main.c,$(SRCS))
OBJS      := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRCS) src/main.c)
LIB_OBJS  := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
UNIT_SRCS := $(sort $(wildcard test/unit/test_*.c))
UNIT_BINS := $(patsubst test/unit/%.c,$(BUILD)/test/%,$(UNIT_SRCS))
PLUG_SRCS := $(sort $(wildcard test/plugins/*.c))
PLUG_BINS := $(patsubst test/plugins/%.c,$(BUILD)/plugins/%,$(PLUG_SRCS))
FUZZ_SRCS := $(sort $(wildcard test/fuzz/fuzz_*.c))
VENDOR_STAMP := $(VENDOR)/musl/lib/libseccomp.a

# Keep objects built by pattern rules (make would delete them as intermediates).
.SECONDARY:

.PHONY: all deps test unit integration demo asan fuzz bench clean distclean
all: $(BUILD)/stavily.stripped $(PLUG_BINS)

# --- build dependencies -------------------------------------------------------
$(BUILD)/.deps-ok:
	@mkdir -p $(BUILD)
	@missing=""; for c in $(BUILD_CMDS); do command -v $$c >/dev/null 2>&1 || missing="$$missing $$c"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "deps: installing $(BUILD_PKGS)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get -q update >/dev/null && \
	    DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends $(BUILD_PKGS) >/dev/null || exit 1; \
	  else \
	    echo "missing build tools:$$missing; install: apt-get install $(BUILD_PKGS)" >&2; exit 1; \
	  fi; \
	fi
	@touch $@
deps: $(BUILD)/.deps-ok

$(VENDOR_STAMP): vendor/deps.lock vendor/fetch.sh vendor/build.sh | $(BUILD)/.deps-ok
	vendor/fetch.sh $(VENDOR)
	rm -rf $(VENDOR)/musl $(VENDOR)/work-musl
	vendor/build.sh $(VENDOR) musl

$(VENDOR)/host/lib/libseccomp.a: vendor/deps.lock vendor/fetch.sh vendor/build.sh | $(VENDOR_STAMP)
	rm -rf $(VENDOR)/host $(VENDOR)/work-host
	vendor/build.sh $(VENDOR) host

# --- the program -------------------------------------------------------------
$(BUILD)/obj/%.o: src/%.c $(VENDOR_STAMP)
	@mkdir -p $(dir $@)
	$(MSG) CC $<
	$(Q)musl-gcc $(MUSL_CFLAGS) -c $< -o $@

$(BUILD)/obj/version.h: FORCE
	@mkdir -p $(dir $@)
	@{ printf '#define STAVILY_GIT_COMMIT "%s"\n' "$(GIT_COMMIT)"; \
	   printf '#define STAVILY_DEP_MUSL "%s"\n' "$$(dpkg-query -W -f='$${Version}' musl-dev 2>/dev/null || echo unknown)"; \
	   awk '!/^#/ && NF == 5 && !seen[$$1]++ { printf "#define STAVILY_DEP_%s \"%s\"\n", toupper($$1), $$2 }' vendor/deps.lock; \
	 } > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
FORCE:
$(BUILD)/obj/main.o: $(BUILD)/obj/version.h
$(BUILD)/obj/main.o: MUSL_CFLAGS += -I$(BUILD)/obj

$(BUILD)/stavily: $(OBJS)
	$(MSG) LINK $@
	$(Q)$(LINK) -o $@ $(LINK_PRE) $(OBJS) $(LINK_POST)

$(BUILD)/stavily.stripped: $(BUILD)/stavily
	@strip -o $@ $<
	@echo "build/stavily: $$(stat -c %s $(BUILD)/stavily) bytes, stripped $$(stat -c %s $(BUILD)/stavily.stripped) bytes"

# --- test plugins: static musl programs, non-PIE so that they start fast ------
$(BUILD)/plugins/%: test/plugins/%.c $(VENDOR_STAMP)
	@mkdir -p $(dir $@)
	$(MSG) PLUGIN $@
	$(Q)musl-gcc -std=gnu11 -O2 -static -isystem $(KINC) -Wall -Wno-unused-result $< -o $@

# --- unit tests: static musl too, they link the library objects --------------
$(BUILD)/test/%: test/unit/%.c $(LIB_OBJS) $(wildcard test/unit/*.h)
	@mkdir -p $(dir $@)
	$(MSG) TEST $@
	$(Q)musl-gcc $(MUSL_CFLAGS) -Itest/unit -c $< -o $@.o
	$(Q)$(LINK) -o $@ $(LINK_PRE) $@.o $(LIB_OBJS) $(LINK_POST)

test: all $(UNIT_BINS)
	@test/run.sh $(BUILD)

unit: $(UNIT_BINS)
	@TEST_ONLY=unit test/run.sh $(BUILD)

integration: all
	@TEST_ONLY=integration test/run.sh $(BUILD)

demo: all
	$(BUILD)/stavily demo

# Regenerate what the binary says in docs/config.md and docs/cli.md (between the
# "generated by" markers); test/integration/ship_configdoc.sh and ship_help.py compare.
.PHONY: docs
docs: $(BUILD)/stavily
	release/gendocs.sh $(BUILD)/stavily

# --- sanitizer build (glibc + ASan/UBSan) -------------------------------------
ASAN_CFLAGS := -std=c11 -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all \
               $(WARN) $(DEFS) -Isrc -isystem $(VENDOR)/host/include -MMD -MP
ASAN_OBJS   := $(patsubst src/%.c,$(BUILD)/asan/obj/%.o,$(LIB_SRCS))
ASAN_LIBS   := -L$(VENDOR)/host/lib -lbearssl -lseccomp -lcjson -linih
$(BUILD)/asan/obj/%.o: src/%.c $(VENDOR)/host/lib/libseccomp.a
	@mkdir -p $(dir $@)
	$(MSG) ASAN $<
	$(Q)clang $(ASAN_CFLAGS) -c $< -o $@
$(BUILD)/asan/test/%: test/unit/%.c $(ASAN_OBJS) $(wildcard test/unit/*.h)
	@mkdir -p $(dir $@)
	$(MSG) ASAN $@
	$(Q)clang $(ASAN_CFLAGS) -Itest/unit $< $(ASAN_OBJS) $(ASAN_LIBS) -o $@
asan: $(PLUG_BINS) $(patsubst test/unit/%.c,$(BUILD)/asan/test/%,$(UNIT_SRCS))
	@TEST_ONLY=unit TEST_BIN_DIR=$(BUILD)/asan/test test/run.sh $(BUILD)

# --- fuzzing (libFuzzer) -------------------------------------------------------
FUZZ_CFLAGS := -std=c11 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
               $(DEFS) -DSTAVILY_FUZZ -Isrc -isystem $(VENDOR)/host/include
FUZZ_OBJS   := $(patsubst src/%.c,$(BUILD)/fuzz/obj/%.o,$(LIB_SRCS))
$(BUILD)/fuzz/obj/%.o: src/%.c $(VENDOR)/host/lib/libseccomp.a
	@mkdir -p $(dir $@)
	$(MSG) FUZZCC $<
	$(Q)clang $(FUZZ_CFLAGS:-fsanitize=fuzzer,%=-fsanitize=fuzzer-no-link,%) -c $< -o $@
$(BUILD)/fuzz/%: test/fuzz/%.c $(FUZZ_OBJS)
	$(MSG) FUZZ $@
	$(Q)clang $(FUZZ_CFLAGS) $< $(FUZZ_OBJS) $(ASAN_LIBS) -o $@
fuzz: $(patsubst test/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
	@FUZZ_SECONDS=$(FUZZ_SECONDS) test/fuzz/run.sh $(BUILD)/fuzz

# --- benchmarks ----------------------------------------------------------------
bench: all $(UNIT_BINS)
	@for b in bench/*.sh; do [ -x "$$b" ] && BUILD=$(BUILD) "$$b"; done; true

clean:
	rm -rf $(BUILD)/obj $(BUILD)/test $(BUILD)/plugins $(BUILD)/asan $(BUILD)/fuzz $(BUILD)/stavily*
distclean:
	rm -rf $(BUILD)

-include $(OBJS:.o=.d) $(ASAN_OBJS:.o=.d)
include image/image.mk
include release/release.mk
