// options.cc: command-line parsing for mount9p.
#include "mount9p/options.h"

#include <fnmatch.h>
#include <getopt.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "ninep/server.h"

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
    } else if (key == "writeback" && !has_val) {
      o->writeback = true;
    } else if (key == "msize" || key == "readahead") {
      auto n = ParseSize(val);
      if (!n.ok()) return Usage(opt + ": " + n.status().message());
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

Result<MountOptions> ParseArgs(int argc, char** argv) {
  MountOptions o;
  std::string user_or_unmount;
  bool have_u = false;
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt(argc, argv, "+fDLa:A:u:m:o:h")) != -1) {
    switch (c) {
      case 'f':
        o.foreground = true;
        break;
      case 'D':
        o.trace = true;
        break;
      case 'L':
        o.dialect = Dialect::k9P2000L;
        break;
      case 'a':
        o.addr = optarg;
        break;
      case 'A':
        o.aname = optarg;
        break;
      case 'u':
        user_or_unmount = optarg;
        have_u = true;
        break;
      case 'm': {
        auto n = ParseSize(optarg);
        if (!n.ok()) return Usage(std::string("-m ") + optarg + ": " + n.status().message());
        o.msize = *n;
        break;
      }
      case 'o': {
        Status s = ParseOptionList(optarg, &o);
        if (!s.ok()) return s;
        break;
      }
      case 'h':
        return Usage("help");
      default:
        if (optopt != 0 &&
            std::string_view("aAumo").find(static_cast<char>(optopt)) != std::string_view::npos) {
          return Usage(std::string("option -") + static_cast<char>(optopt) + " needs a value");
        }
        return Usage(std::string("unknown option -") + static_cast<char>(optopt));
    }
  }
  std::vector<std::string> rest(argv + optind, argv + argc);
  if (have_u && rest.empty() && o.addr.empty()) {
    // `mount9p -u MOUNTPOINT`: -u names the mountpoint, not a user.
    o.unmount = user_or_unmount;
    return o;
  }
  if (have_u) o.uname = user_or_unmount;
  if (o.addr.empty()) {
    if (rest.size() == 2) {
      o.addr = rest[0];
      o.mountpoint = rest[1];
    } else if (rest.size() == 1 && std::getenv("NINEP_ADDR") != nullptr) {
      o.addr = std::getenv("NINEP_ADDR");
      o.mountpoint = rest[0];
    } else {
      return Usage("want an address and a mountpoint");
    }
  } else {
    if (rest.size() != 1) return Usage("want one mountpoint after -a");
    o.mountpoint = rest[0];
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
