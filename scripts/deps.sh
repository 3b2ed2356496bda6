#!/usr/bin/env bash
# deps.sh: installs, with apt-get and only when missing, the Debian packages
# that ninefold's build, tests and benchmarks need, and makes sure /dev/fuse
# exists for the FUSE tests. Run by `make deps` (and so by `make test`).
# Not root and something missing: prints what to install and exits 1.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  libuv1-dev libssl-dev libfuse3-dev fuse3
  libisal-dev
  etcd-server etcd-client libcurl4-openssl-dev nlohmann-json3-dev
  diod
  googletest libgtest-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev clang-format-14 clang-tidy-14
  ccache hyperfine iperf3
  man-db groff-base
)

missing=()
for p in "${PACKAGES[@]}"; do
  # dpkg-query prints the status even for removed-but-configured packages,
  # so look for the exact "installed" state rather than trusting the exit code.
  st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$st" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "deps: missing Debian packages: ${missing[*]}" >&2
    echo "deps: as root run: apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# FUSE: the mount9p tests need the device. Loading the module is best
# effort (a container may not allow it); the tests report a missing device
# themselves, so this only warns.
if [[ ! -e /dev/fuse ]]; then
  if [[ $(id -u) -eq 0 ]]; then
    modprobe fuse 2>/dev/null || true
    if [[ ! -e /dev/fuse ]] && grep -qw fuse /proc/filesystems 2>/dev/null; then
      mknod -m 0666 /dev/fuse c 10 229 2>/dev/null || true
    fi
  fi
  [[ -e /dev/fuse ]] || echo "deps: warning: /dev/fuse is missing; FUSE tests will fail" >&2
fi
# Unprivileged FUSE (ns exec as an ordinary user, mount9p by a user) needs
# the mode udev gives /dev/fuse on a standard Debian system; a container's
# device node is often 0600.
if [[ -e /dev/fuse && $(id -u) -eq 0 ]]; then
  chmod 0666 /dev/fuse 2>/dev/null || true
fi
exit 0
