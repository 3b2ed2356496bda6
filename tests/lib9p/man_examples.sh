#!/bin/bash
# man_examples.sh: compile and link every example program in lib9p(3)
# against the library this build made (build/lib/libninep.a), so the man
# page cannot rot; then run two of them together: the hello server and the
# cat9 client reading its /hello.
# Needs (set by ctest): NINEP_SOURCE_DIR, NINEP_BUILD_DIR, CXX, and
# NINEP_CXXFLAGS / NINEP_LDFLAGS (the build's own, e.g. its sanitizers).
# Exit 0 passes.
test_name=lib9p_man_examples
. "$(dirname "$0")/lib.sh"

for name in $(extract_examples "$src/man/man3/lib9p.3" "$work"); do
  # shellcheck disable=SC2086
  "$CXX" -std=c++20 $NINEP_CXXFLAGS -I "$src/lib9p/include" "$work/$name" \
    "$build/lib/libninep.a" $(pkg-config --libs libuv libssl libcrypto) -pthread $NINEP_LDFLAGS \
    -o "$work/${name%.cc}" || fail "lib9p(3) example $name does not build"
done
run_hello_and_cat9 "$work"
echo "$test_name: ok"
