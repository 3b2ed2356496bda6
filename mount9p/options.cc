// options.cc: command-line parsing for mount9p.
#include "mount9p/options.h"

#include <fnmatch.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string>

#include "ninep/cmdline.h"

namespace ninep::mount9p {
namespace {

Status Usage(std::string why) { return Status(EINVAL, std::move(why)); }

// Parses a non-negative number of seconds ("1", "0.5").
bool ParseSeconds(const std::string& s, double* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s.c_str(), &end);
  if (errno != 0 || *end != '\0' || v < 0 || v > 1e9) return false;
  *out = v;
  return true;
}

}  // namespace

Status ParseOptionList(std::string_view list, MountOptions* o) {
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string_view::npos) comma = list.size();
    std::string opt(list.substr(start, comma - start));
    start = comma + 1;
    if (opt.empty()) continue;
    size_t eq = opt.find('=');
    std::string key = opt.substr(0, eq);
    std::string val = eq == std::string::npos ? "" : opt.substr(eq + 1);
    bool has_val = eq != std::string::npos;
    if (key == "cache") {
      if (val == "none") {
        o->cache = CacheMode::kNone;
      } else if (val == "loose") {
        o->cache = CacheMode::kLoose;
      } else if (val == "default" || val == "ctc") {
        o->cache = CacheMode::kDefault;
      } else {
        return Usage("cache=" + val + ": want none, loose or default");
      }
    } else if (key == "timeout") {
      if (!ParseSeconds(val, &o->timeout)) return Usage(opt + ": want a number of seconds");
    } else if (key == "attr_timeout" || key == "entry_timeout") {
      double v;
      if (!ParseSeconds(val, &v)) return Usage(opt + ": want a number of seconds");
      if (key == "attr_timeout") {
        o->attr_timeout = v;
        o->attr_timeout_set = true;
      } else {
        o->entry_timeout = v;
        o->entry_timeout_set = true;
      }
    } else if (key == "direct") {
      if (val.empty()) return Usage("direct= needs a glob");
      o->direct_globs.push_back(val);
    } else if (key == "reconnect" && !has_val) {
      o->reconnect = true;
    } else if (key == "access") {
      if (val == "user") {
        o->access = Access::kUser;
      } else if (val == "any") {
        o->access = Access::kAny;
      } else {
        return Usage("access=" + val + ": want user or any");
      }
    } else if (key == "writeback" && !has_val) {
      o->writeback = true;
    } else if (key == "msize" || key == "readahead") {
      auto n = ParseSize(val);
      if (!n.ok()) return Usage(opt + ": " + n.status().message());
      // The msize floor is checked once every flag is in (ParseArgs).
      if (key == "msize") {
        o->msize = *n;
      } else {
        o->readahead = *n;
      }
    } else {
      // Everything else is FUSE's (allow_other, default_permissions, ro ...);
      // fuse_session_new rejects what it does not know.
      o->fuse_opts.push_back(opt);
    }
  }
  return Status::Ok();
}

namespace {

// mount9p's table: the shared client flags and its own. Binds to *o and
// *f, which must outlive the parse.
Command MakeCommand(MountOptions* o, ClientFlags* f) {
  Command cmd("mount9p", "[addr] mountpoint");
  cmd.AddClientFlags(f)
      .Flag('f', "foreground", "stay in the foreground", &o->foreground)
      .Add({'o', "options", "OPT,...", "mount options (see mount9p(1))",
            [o](std::string_view v) { return ParseOptionList(v, o); }})
      .Value('U', "unmount", "MOUNTPOINT", "unmount MOUNTPOINT and exit", &o->unmount);
  return cmd;
}

}  // namespace

std::string UsageLine() {
  MountOptions o;
  ClientFlags f;
  return MakeCommand(&o, &f).UsageLine();
}

std::string Help() {
  MountOptions o;
  ClientFlags f;
  return MakeCommand(&o, &f).Help();
}

Result<MountOptions> ParseArgs(int argc, char** argv) {
  MountOptions o;
  ClientFlags f;
  Command cmd = MakeCommand(&o, &f);
  Result<Command::Parsed> p = cmd.Parse(std::vector<std::string>(argv, argv + argc));
  if (!p.ok()) return p.status();
  if (p->help) {
    o.help = true;
    return o;
  }
  const std::vector<std::string>& rest = p->rest;
  if (!o.unmount.empty()) {
    if (!rest.empty()) return Usage("-U takes no other operands");
    return o;
  }
  if (!f.user.empty() && rest.empty() && !f.addr_given) {
    // The old spelling, `mount9p -u MOUNTPOINT`: no address and no
    // mountpoint, so -u cannot have meant a user.
    o.unmount = f.user;
    o.warning = "-u MOUNTPOINT is deprecated: use -U MOUNTPOINT (or --unmount)";
    return o;
  }
  o.dialect = f.dotl ? Dialect::k9P2000L : Dialect::k9P2000;
  o.aname = f.aname;
  o.uname = f.user;
  o.trace = f.trace;
  o.tls = f.tls;
  if (f.msize != 0) o.msize = f.msize;
  if (!f.addr_given && rest.size() == 2) {
    o.addr = rest[0];
    o.mountpoint = rest[1];
  } else if (rest.size() == 1 && !f.addr.empty()) {
    o.addr = f.addr;  // -a, else $NINEP_ADDR
    o.mountpoint = rest[0];
  } else if (f.addr_given) {
    return Usage("want one mountpoint after -a");
  } else {
    return Usage("want an address and a mountpoint");
  }
  if (o.addr.empty() || o.mountpoint.empty()) return Usage("empty address or mountpoint");
  if (o.msize < MINMSIZE) return Usage("msize " + std::to_string(o.msize) + " is too small");
  if (o.cache == CacheMode::kNone) {
    if (!o.attr_timeout_set) o.attr_timeout = 0;
    if (!o.entry_timeout_set) o.entry_timeout = 0;
  } else if (o.cache == CacheMode::kLoose) {
    if (!o.attr_timeout_set) o.attr_timeout = 60;
    if (!o.entry_timeout_set) o.entry_timeout = 60;
  }
  return o;
}

Access EffectiveAccess(const MountOptions& o, uid_t euid) {
  if (o.access != Access::kDefault) return o.access;
  return euid == 0 && o.uname.empty() ? Access::kUser : Access::kAny;
}

std::vector<std::string> FuseOptions(const MountOptions& o, uid_t euid) {
  std::vector<std::string> out = o.fuse_opts;
  if (euid != 0 || EffectiveAccess(o, euid) != Access::kUser) return out;
  for (const char* want : {"allow_other", "default_permissions"}) {
    if (std::find(out.begin(), out.end(), want) == out.end()) out.emplace_back(want);
  }
  return out;
}

bool GlobMatches(std::string_view glob, std::string_view path) {
  while (!glob.empty() && glob.front() == '/') glob.remove_prefix(1);
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  std::string g(glob);
  std::string p;
  if (glob.find('/') == std::string_view::npos) {
    size_t slash = path.rfind('/');
    p = std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
  } else {
    p = std::string(path);
  }
  return fnmatch(g.c_str(), p.c_str(), FNM_PATHNAME) == 0;
}

}  // namespace ninep::mount9p
