# ninefold: the front door. CMake does the building underneath; this file
# only names the jobs a person runs. `make help` lists them.
#
#   make            configure build/ and build everything; ./bin -> build/bin
#   make test       install missing packages, build, run every test (ctest)
#   make run        build and serve a demo tree on tcp!127.0.0.1!5640
#
# Variables: BUILD (build directory, default build), JOBS, CTEST_JOBS,
# TEST_TIMEOUT, FUZZ_SECONDS, PREFIX, DESTDIR, ROOT and ADDR (make run),
# CLANG_FORMAT and CLANG_TIDY (the tools; TIDY_FILES='regex' narrows tidy);
# TARGETS (build only these) and CTEST_ARGS (e.g. "-R Conformance") narrow
# a run: make asan-test TARGETS="ramfs conformance_test" CTEST_ARGS="-R Ramfs".

SHELL := /bin/bash
.DEFAULT_GOAL := all
# Each job runs its steps in order (deps before the build before the tests);
# the parallelism lives inside cmake and ctest.
.NOTPARALLEL:

NPROC        := $(shell nproc 2>/dev/null || echo 2)
BUILD        ?= build
JOBS         ?= $(NPROC)
# Integration tests spend most of their time waiting on sockets and child
# processes, so one more job than cores keeps both cores busy.
CTEST_JOBS   ?= $(shell echo $$(( $(NPROC) + 1 )))
TEST_TIMEOUT ?= 300
FUZZ_SECONDS ?= 60
PREFIX       ?= /usr/local
DESTDIR      ?=
ADDR         ?= tcp!127.0.0.1!5640
ROOT         ?=
# The commands `make install` copies, when they have been built.
COMMANDS     ?= 9p exportfs mount9p cmdfs ramfs ns storefs chunkd

# Pinned versions: another clang-format formats differently, and another
# clang-tidy has other checks, so CI and a contributor must run the same one.
CLANG_FORMAT ?= clang-format-14
CLANG_TIDY   ?= clang-tidy-14

CCACHE   := $(shell command -v ccache 2>/dev/null)
LAUNCHER := $(if $(CCACHE),-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
CTEST     = ctest --output-on-failure -j$(CTEST_JOBS) --timeout $(TEST_TIMEOUT) $(CTEST_ARGS)

# $(call configure_and_build,DIR,BUILD_TYPE,EXTRA_CMAKE_FLAGS)
# Configures every time: cheap, and it picks up parts whose CMakeLists.txt
# appeared since the last run (the top level adds only folders that exist).
define configure_and_build
	cmake -S . -B $(1) -DCMAKE_BUILD_TYPE=$(2) $(LAUNCHER) $(3)
	cmake --build $(1) -j $(JOBS) $(if $(TARGETS),--target $(TARGETS))
endef

# ./bin is a link to build/bin (only for the default build directory).
define link_bin
	@if [ "$(BUILD)" = build ]; then \
	  if [ -L bin ] || [ ! -e bin ]; then ln -sfn build/bin bin; \
	  else echo "make: ./bin exists and is not a symlink; left alone" >&2; fi; \
	fi
endef

.PHONY: all commands deps test asan-test tsan-test fuzz bench install run run-store clean help
.PHONY: format format-check tidy

all:
	$(call configure_and_build,$(BUILD),RelWithDebInfo,)
	$(link_bin)

# Only the commands (what `make run` and `make install` need), not the tests:
# the targets of COMMANDS that this tree defines so far.
commands:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(LAUNCHER)
	@targets=$$(cmake --build $(BUILD) --target help | sed -n 's/^\.\.\. \([^ ]*\).*/\1/p' | \
	  grep -xF -f <(printf '%s\n' $(COMMANDS)) | tr '\n' ' '); \
	  [ -n "$$targets" ] || { echo "make: no command targets defined yet" >&2; exit 1; }; \
	  echo "cmake --build $(BUILD) -j $(JOBS) --target $$targets"; \
	  cmake --build $(BUILD) -j $(JOBS) --target $$targets
	$(link_bin)

deps:
	@bash scripts/deps.sh

test: deps all
	cd $(BUILD) && $(CTEST)

# ASan + UBSan: any report fails the test (halt_on_error, and a nonzero exit
# from LeakSanitizer at exit).
asan-test: export ASAN_OPTIONS = halt_on_error=1:abort_on_error=0:detect_leaks=1:print_stacktrace=1:strict_init_order=1
asan-test: export UBSAN_OPTIONS = halt_on_error=1:print_stacktrace=1
asan-test: deps
	$(call configure_and_build,build-asan,RelWithDebInfo,-DNINEP_SANITIZE=ON)
	cd build-asan && $(CTEST)

# ThreadSanitizer: any report fails the test (halt_on_error, and exitcode
# for a report found at exit). second_deadlock_stack shows both lock orders.
# tests/tsan.supp holds the false positives of system libraries, each with
# its proof.
tsan-test: export TSAN_OPTIONS = halt_on_error=1:exitcode=66:second_deadlock_stack=1:history_size=4:suppressions=$(CURDIR)/tests/tsan.supp
# Code runs 5 to 15 times slower under TSan: the largest tests (100,000
# directory entries) need more than TEST_TIMEOUT's default.
tsan-test: TEST_TIMEOUT = 900
# tests/cmd9p/copy_tree.sh starts bin/9p once per file: 190 files, not 1,000.
tsan-test: export COPY_TREE_PER_DIR = 10
# Reports also go to files (log_path), so that one in a server a test
# started, which the test may never look at, still fails the run.
tsan-test: deps
	$(call configure_and_build,build-tsan,RelWithDebInfo,-DNINEP_TSAN=ON)
	rm -rf build-tsan/tsan-reports && mkdir -p build-tsan/tsan-reports
	cd build-tsan && TSAN_OPTIONS="$$TSAN_OPTIONS:log_path=$(CURDIR)/build-tsan/tsan-reports/report" \
	  $(CTEST); rc=$$?; cd '$(CURDIR)'; \
	  if ls build-tsan/tsan-reports/report.* >/dev/null 2>&1; then \
	    cat build-tsan/tsan-reports/report.*; \
	    echo "make: ThreadSanitizer reports above (kept in build-tsan/tsan-reports/)" >&2; exit 1; \
	  fi; exit $$rc

fuzz: deps
	@test -f tests/fuzz/run.sh || { echo "make: tests/fuzz/run.sh does not exist yet" >&2; exit 1; }
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run.sh

# Release build for figures; warnings are enforced by the default build, so
# an optimiser-only warning does not stop a measurement here.
bench: deps
	$(call configure_and_build,build-bench,Release,-DNINEP_WERROR=OFF)
	BUILD_DIR=build-bench bash bench/run.sh

# Our C++ sources: tracked files plus new ones not yet added (but not
# ignored ones, such as build directories).
SOURCES_CMD = git ls-files -z --cached --others --exclude-standard -- '*.cc' '*.h'

# Reformat every source in place with the root .clang-format.
format:
	@set -o pipefail; $(SOURCES_CMD) | xargs -0 -r $(CLANG_FORMAT) -i

# Fail, naming the file and line, if any source differs from its formatting.
format-check:
	@command -v $(CLANG_FORMAT) >/dev/null || { echo "make: $(CLANG_FORMAT) not found (make deps)" >&2; exit 1; }
	@set -o pipefail; $(SOURCES_CMD) | xargs -0 -r $(CLANG_FORMAT) --dry-run --Werror || \
	  { echo "format-check: the files above are not formatted; make format fixes them" >&2; exit 1; }
	@echo "format-check: every source is formatted"

# clang-tidy with the checks in .clang-tidy over our translation units,
# found in the compilation database that configuring $(BUILD) writes.
tidy:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(LAUNCHER) >/dev/null
	CLANG_TIDY=$(CLANG_TIDY) bash scripts/tidy.sh $(BUILD) $(JOBS)

# The commands and man pages by hand (only the commands that are built);
# lib9p (libninep.a, libninep.so.*, include/ninep/*.h, pkgconfig/ninep.pc)
# through CMake's install rules for its lib9p component, which know the
# soname links (tests/lib9p/install.sh checks the result).
install: commands
	cmake --build $(BUILD) -j $(JOBS) --target ninep_static ninep_shared
	DESTDIR='$(DESTDIR)' cmake --install $(BUILD) --component lib9p --prefix '$(PREFIX)'
	install -d '$(DESTDIR)$(PREFIX)/bin'
	@for c in $(COMMANDS); do \
	  if [ -x '$(BUILD)/bin/'$$c ]; then \
	    echo "install $(BUILD)/bin/$$c $(DESTDIR)$(PREFIX)/bin/"; \
	    install -m 0755 '$(BUILD)/bin/'$$c '$(DESTDIR)$(PREFIX)/bin/' || exit 1; \
	  fi; \
	done
	@for n in 1 2 3 4 5 7; do \
	  for f in man/man$$n/*.$$n; do \
	    [ -f "$$f" ] || continue; \
	    install -d '$(DESTDIR)$(PREFIX)/share/man/man'$$n || exit 1; \
	    echo "install $$f $(DESTDIR)$(PREFIX)/share/man/man$$n/"; \
	    install -m 0644 "$$f" '$(DESTDIR)$(PREFIX)/share/man/man'$$n/ || exit 1; \
	  done; \
	done

run: deps commands
	@BIN_DIR='$(BUILD)/bin' ADDR='$(ADDR)' ROOT='$(ROOT)' DEMO_DIR='$(BUILD)/demo' \
	  exec bash scripts/run-demo.sh

# A whole store on this machine: storefs and three chunkd (scripts/run-store.sh).
run-store: deps commands
	@BIN_DIR='$(BUILD)/bin' STORE_DIR='$(BUILD)/store' exec bash scripts/run-store.sh

clean:
	rm -rf build build-asan build-tsan build-bench build-fuzz .fuzz-corpus-work
	@if [ -L bin ]; then rm -f bin; fi

help:
	@echo "make            build everything into build/ (commands in ./bin)"
	@echo "make commands   build only the commands, not the tests"
	@echo "make run        build, then serve a demo tree on $(ADDR)"
	@echo "make run-store  build, then run storefs + 3 chunkd on tcp!127.0.0.1!5641"
	@echo "make test       install missing packages, build, run all tests"
	@echo "make asan-test  the same tests built with ASan+UBSan in build-asan/"
	@echo "make tsan-test  the same tests built with ThreadSanitizer in build-tsan/"
	@echo "make format     reformat every C++ source with $(CLANG_FORMAT)"
	@echo "make format-check  fail if any C++ source is not formatted (CI runs it)"
	@echo "make tidy       clang-tidy (.clang-tidy's checks) over our sources (CI runs it)"
	@echo "make fuzz       run the libFuzzer targets (FUZZ_SECONDS=$(FUZZ_SECONDS) each)"
	@echo "make bench      Release build in build-bench/, run bench/run.sh"
	@echo "make install    commands, man pages and lib9p under DESTDIR/PREFIX ($(PREFIX))"
	@echo "make deps       install missing Debian packages (as root)"
	@echo "make clean      remove the build directories"
