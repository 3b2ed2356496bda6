#!/bin/bash
# install.sh: install the library as `make install` does (cmake --install
# of the lib9p component, into a DESTDIR), then build lib9p(3)'s examples
# out of the tree with nothing but `pkg-config --cflags --libs ninep`, check
# they link the shared libninep by its soname, and run hello and cat9.
# Needs (set by ctest): NINEP_SOURCE_DIR, NINEP_BUILD_DIR, CXX,
# NINEP_CXXFLAGS / NINEP_LDFLAGS. Exit 0 passes.
test_name=lib9p_install
. "$(dirname "$0")/lib.sh"

prefix=/usr/local
dest=$work/dest
DESTDIR=$dest cmake --install "$build" --component lib9p --prefix "$prefix" >/dev/null ||
  fail "cmake --install --component lib9p failed"
pcdir=$(dirname "$(find "$dest" -name ninep.pc)")
libdir=$(dirname "$pcdir")
for f in libninep.a libninep.so; do
  [ -e "$libdir/$f" ] || fail "$f was not installed in $libdir"
done
[ -f "$dest$prefix/include/ninep/server.h" ] || fail "headers not under $prefix/include/ninep"
soname=$(readelf -d "$libdir/libninep.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
[[ $soname == libninep.so.* ]] || fail "libninep.so has soname '$soname'"
[ -e "$libdir/$soname" ] || fail "$soname (the soname's file) was not installed"

export PKG_CONFIG_PATH=$pcdir PKG_CONFIG_SYSROOT_DIR=$dest
flags=$(pkg-config --cflags --libs ninep) || fail "pkg-config does not know ninep"
[[ $flags == *-lninep* && $flags == *-luv* ]] || fail "pkg-config ninep gave '$flags'"

mkdir "$work/out"
cd "$work/out"
for name in $(extract_examples "$src/man/man3/lib9p.3" "$work/out"); do
  # shellcheck disable=SC2086
  "$CXX" -std=c++20 $NINEP_CXXFLAGS "$name" $flags $NINEP_LDFLAGS -o "${name%.cc}" ||
    fail "lib9p(3) example $name does not build against the installed library"
done
readelf -d hello | grep -q "NEEDED.*\[$soname\]" || fail "hello does not link $soname"
export LD_LIBRARY_PATH=$libdir
run_hello_and_cat9 "$work/out"
echo "$test_name: ok"
