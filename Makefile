# hl7flow top-level Makefile: one non-recursive build, one object directory per
# mode so objects never mix flags. `make` builds the release mode into bin/;
# `make MODE=asan` builds the sanitizer mode into build/asan/bin.
#
# Layout it relies on (see docs/architecture.md):
#   common/src/*.c           -> libhl7flow.a
#   services/<name>/*.c      -> bin/hl7flow-<name>
#   tools/hl7flow/*.c        -> bin/hl7flow            (multi-command CLI)
#   tools/<name>/*.c         -> bin/hl7flow-<name>     (other tools, e.g. relay)
#   tests/unit/test_*.c      -> build/<mode>/tests/test_*   (cmocka)
#   tests/fuzz/fuzz_*.c      -> libFuzzer targets (make fuzz) and replay (make test)

MODE  ?= release
BUILD ?= build/$(MODE)
ifeq ($(MODE),release)
BIN   ?= bin
else
BIN   ?= $(BUILD)/bin
endif

CC      ?= cc
NPROC   := $(shell nproc 2>/dev/null || echo 2)
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla
CFLAGS_release := -O2 -g
CFLAGS_debug   := -O0 -g3
CFLAGS_asan    := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS_asan   := -fsanitize=address,undefined
CFLAGS_fuzz    := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
LDFLAGS_fuzz   := -fsanitize=address,undefined

PKGS    := rdkafka jansson libmicrohttpd libcurl openssl libpq avro-c icu-uc icu-i18n libevent_core libevent_openssl libevent_pthreads
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CPPFLAGS += -Icommon/include -D_GNU_SOURCE $(PKG_CFLAGS)
CFLAGS   += -std=c11 $(WARN) $(CFLAGS_$(MODE)) -MMD -MP
LDFLAGS  += $(LDFLAGS_$(MODE))
LDLIBS   += $(PKG_LIBS) -lrocksdb -lpthread -lm

COMMON_SRCS := $(wildcard common/src/*.c)
COMMON_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(COMMON_SRCS))
LIB         := $(BUILD)/libhl7flow.a

SERVICES    := $(notdir $(patsubst %/,%,$(wildcard services/*/)))
SERVICE_BINS:= $(foreach s,$(SERVICES),$(BIN)/hl7flow-$(s))
TOOLS       := $(filter-out hl7flow,$(notdir $(patsubst %/,%,$(wildcard tools/*/))))
TOOL_BINS   := $(BIN)/hl7flow $(foreach t,$(TOOLS),$(BIN)/hl7flow-$(t))

UNIT_SRCS   := $(wildcard tests/unit/test_*.c)
UNIT_BINS   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
FUZZ_SRCS   := $(wildcard tests/fuzz/fuzz_*.c)
REPLAY_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/tests/replay_%,$(FUZZ_SRCS))

# Objects are intermediate files of the pattern rules; keep them so a second
# build compiles nothing.
.SECONDARY:

.PHONY: all deps test unit integration demo bench asan fuzz clean valgrind help
all: $(SERVICE_BINS) $(TOOL_BINS) $(UNIT_BINS) $(REPLAY_BINS)

help:
	@echo "targets: all deps test unit integration demo bench asan fuzz valgrind clean"

# Installs the Debian packages the project needs (idempotent; apt-get only
# when something is missing).
deps:
	@scripts/deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(LIB): $(COMMON_OBJS)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

objs_of = $(patsubst %.c,$(BUILD)/%.o,$(wildcard services/$(1)/*.c tools/$(1)/*.c))
.SECONDEXPANSION:
$(BIN)/hl7flow-%: $$(call objs_of,$$*) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIB) $(LDLIBS)

$(BIN)/hl7flow: $(patsubst %.c,$(BUILD)/%.o,$(wildcard tools/hl7flow/*.c)) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIB) $(LDLIBS)

$(BUILD)/tests/test_%: $(BUILD)/tests/unit/test_%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS) -lcmocka

$(BUILD)/tests/replay_%: $(BUILD)/tests/fuzz/%.o $(BUILD)/tests/fuzz/replay_main.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The test command of the README: installs what is missing, builds, runs unit,
# fuzz-replay and integration tests (which start and stop the dev broker and a
# throwaway PostgreSQL) and ends with one "N passed, N failed" line.
test: deps
	@$(MAKE) --no-print-directory -j$(NPROC) all
	@MODE=$(MODE) BIN=$(BIN) BUILD=$(BUILD) tests/run.sh

unit: all
	@MODE=$(MODE) BIN=$(BIN) BUILD=$(BUILD) tests/run.sh unit

integration: all
	@MODE=$(MODE) BIN=$(BIN) BUILD=$(BUILD) tests/run.sh integration

asan: deps
	@$(MAKE) --no-print-directory MODE=asan test

demo: deps
	@$(MAKE) --no-print-directory -j$(NPROC) all
	@BIN=$(BIN) scripts/demo.sh

bench: deps
	@$(MAKE) --no-print-directory -j$(NPROC) all
	@BIN=$(BIN) bench/run.sh

FUZZ_SECONDS ?= 60
fuzz: deps
	@$(MAKE) --no-print-directory MODE=fuzz CC=clang fuzz-bins
	@FUZZ_SECONDS=$(FUZZ_SECONDS) BUILD=build/fuzz tests/fuzz/run.sh

fuzz-bins: $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))

$(BUILD)/fuzz/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

valgrind: all
	@VALGRIND=1 MODE=$(MODE) BIN=$(BIN) BUILD=$(BUILD) tests/run.sh unit

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)
