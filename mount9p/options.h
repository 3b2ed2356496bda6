// options.h: mount9p's command line: flags, the -o list, and the glob rule
// of direct=.
//
// ParseArgs turns argv into MountOptions or a usage error; it touches
// nothing outside its arguments (the environment is read for $NINEP_ADDR).
// Thread-safety: plain values and pure functions.
#ifndef NINEP_MOUNT9P_OPTIONS_H_
#define NINEP_MOUNT9P_OPTIONS_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ninep/status.h"
#include "ninep/tls.h"
#include "ninep/wire.h"

namespace ninep::mount9p {

// How much the kernel may cache.
enum class CacheMode {
  kDefault,  // page cache, kept across opens only while the file is unchanged
  kNone,     // direct I/O everywhere, no attribute or entry caching
  kLoose,    // page cache always kept; long attribute and entry timeouts
};

// Whose identity the server sees (-o access=).
enum class Access {
  kDefault,  // kUser when mounted by root without -u, else kAny
  kUser,     // one attach per calling uid; each request on the caller's fids
  kAny,      // one attach (the mounting user, or -u) for every caller
};

// Everything the command line says.
struct MountOptions {
  std::string addr;        // dial string of the server
  std::string mountpoint;  // absolute path once Resolve ran
  Dialect dialect = Dialect::k9P2000;
  std::string aname;
  std::string uname;  // -u; empty: the invoking user's login name
  uint32_t msize = ninep::DEFMSIZE;
  bool foreground = false;  // -f
  bool trace = false;       // -D
  ninep::TlsOptions tls;    // --cert, --key, --ca, --psk (or $NINEP_CERT ...)
  CacheMode cache = CacheMode::kDefault;
  double attr_timeout = 1.0;   // seconds
  double entry_timeout = 1.0;  // seconds
  bool attr_timeout_set = false, entry_timeout_set = false;
  std::vector<std::string> direct_globs;  // -o direct=GLOB (repeatable)
  bool reconnect = false;
  double timeout = 0;  // seconds a 9P call may wait for its answer; 0 = forever
  bool writeback = false;
  Access access = Access::kDefault;
  uint32_t readahead = 0;  // bytes of kernel readahead (0: as large as I/O)
  // Options handed to FUSE as -o (allow_other, default_permissions, ro ...).
  std::vector<std::string> fuse_opts;
  // `mount9p -U MOUNTPOINT`: unmount this and do nothing else.
  std::string unmount;
  bool help = false;  // -h or --help: print Help() and exit 0
  // A note for stderr: the old `mount9p -u MOUNTPOINT` spelling was used.
  std::string warning;
};

// Parses argv (argv[0] is the program) with the shared client flags of
// ninep/cmdline.h. EINVAL with the reason on a usage error. For one release
// `mount9p -u X` with nothing else still means "unmount X" (with a warning):
// with no address and no mountpoint it cannot mean a user.
Result<MountOptions> ParseArgs(int argc, char** argv);

// The usage line printed on a usage error.
std::string UsageLine();
// The usage line and every option, for -h.
std::string Help();

// The access mode in effect for a mount made by euid with these options
// (kDefault resolved).
Access EffectiveAccess(const MountOptions& o, uid_t euid);
// The FUSE -o list to mount with: o.fuse_opts, plus allow_other and
// default_permissions when root mounts with access=user (every local user
// reaches the mount, the kernel checks permissions first and the server
// again as the caller).
std::vector<std::string> FuseOptions(const MountOptions& o, uid_t euid);

// Applies one -o list ("cache=none,allow_other,direct=*/ctl") to *o.
Status ParseOptionList(std::string_view list, MountOptions* o);

// True when the file at `path` (relative to the mount root, no leading
// slash) matches `glob`: a glob without '/' is matched against the last
// name only, one with '/' against the whole path (leading '/' ignored).
bool GlobMatches(std::string_view glob, std::string_view path);

}  // namespace ninep::mount9p

#endif  // NINEP_MOUNT9P_OPTIONS_H_
