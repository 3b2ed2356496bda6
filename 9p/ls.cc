// ls.cc: the listing verbs of bin/9p: ls and stat.
#include <errno.h>
#include <time.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <string>

#include "cmd.h"

namespace ninep::cmd {
namespace {

// Plan 9's mode string: d/a/A/-, then l for exclusive use, then rwx thrice.
std::string ModeString(const Dir& d) {
  std::string s;
  if ((d.mode & DMDIR) || (d.qid.type & QTDIR)) {
    s += 'd';
  } else if (d.mode & DMAPPEND) {
    s += 'a';
  } else if (d.mode & DMAUTH) {
    s += 'A';
  } else if (d.qid.type & QTSYMLINK) {
    s += 'L';
  } else {
    s += '-';
  }
  s += (d.mode & DMEXCL) ? 'l' : '-';
  static const char kRwx[] = "rwx";
  for (int i = 8; i >= 0; i--) s += (d.mode & (1u << i)) ? kRwx[(8 - i) % 3] : '-';
  return s;
}

// Plan 9's ls date: time of day within six months of now, else the year.
std::string TimeString(uint32_t t) {
  time_t tt = t, now = time(nullptr);
  struct tm tm;
  localtime_r(&tt, &tm);
  char buf[64];
  const bool recent = tt <= now + 3600 && now - tt < 180 * 24 * 3600;
  strftime(buf, sizeof buf, recent ? "%b %e %H:%M" : "%b %e  %Y", &tm);
  return buf;
}

// The name of the last element of a user path ("/" for the root).
std::string BaseName(std::string_view path) {
  std::string rel = RelPath(path);
  if (rel.empty()) return "/";
  size_t slash = rel.rfind('/');
  return slash == std::string::npos ? rel : rel.substr(slash + 1);
}

// One line to print, with its Dir for -l.
struct Entry {
  std::string shown;
  Dir d;
};

void PrintEntries(std::vector<Entry>& es, bool longform) {
  if (!longform) {
    for (auto& e : es) printf("%s\n", e.shown.c_str());
    return;
  }
  size_t wu = 0, wg = 0, wl = 0;
  for (auto& e : es) {
    wu = std::max(wu, e.d.uid.size());
    wg = std::max(wg, e.d.gid.size());
    wl = std::max(wl, std::to_string(e.d.length).size());
  }
  for (auto& e : es) {
    int type = e.d.type == 0 ? 'M' : (e.d.type < 128 && e.d.type > 32 ? e.d.type : '?');
    printf("%s %c %" PRIu32 " %-*s %-*s %*" PRIu64 " %s %s\n", ModeString(e.d).c_str(), type,
           e.d.dev, static_cast<int>(wu), e.d.uid.c_str(), static_cast<int>(wg), e.d.gid.c_str(),
           static_cast<int>(wl), e.d.length, TimeString(e.d.mtime).c_str(), e.shown.c_str());
  }
}

// Lists the directory `dir` (a walked, unopened fid) into *out. In 9P2000.L
// a directory read carries only names and qids, so -l stats each entry,
// walking from `dir` (an open fid cannot be walked from).
Status ListDir(const Fid& dir, bool longform, bool dotl, const std::string& prefix,
               std::vector<Entry>* out) {
  Result<std::vector<Dir>> ents = Status(EIO, "");
  {
    auto opened = dir.Walk("");
    if (!opened.ok()) return opened.status();
    Status s = opened->Open(OREAD);
    if (!s.ok()) return s;
    ents = opened->ReadDir();
  }
  if (!ents.ok()) return ents.status();
  for (Dir& d : *ents) {
    if (d.name == "." || d.name == "..") continue;
    if (longform && dotl) {
      auto f = WalkFrom(dir, d.name);
      if (!f.ok()) return Status(f.status().err(), d.name + ": " + Reason(f.status()));
      auto st = f->Stat();
      if (!st.ok()) return Status(st.status().err(), d.name + ": " + Reason(st.status()));
      std::string name = std::move(d.name);
      d = std::move(*st);
      d.name = std::move(name);
    }
    std::string shown = prefix + d.name;
    out->push_back(Entry{std::move(shown), std::move(d)});
  }
  return Status();
}

void PrintStat(const Dir& d) {
  if (d.l.valid == 0) {
    printf("'%s' '%s' '%s' '%s' q (%016" PRIx64 " %" PRIu32 " %02x) m %#" PRIo32 " at %" PRIu32
           " mt %" PRIu32 " l %" PRIu64 " t %u d %" PRIu32 "\n",
           d.name.c_str(), d.uid.c_str(), d.gid.c_str(), d.muid.c_str(), d.qid.path, d.qid.version,
           d.qid.type, d.mode, d.atime, d.mtime, d.length, d.type, d.dev);
    return;
  }
  const Rgetattr& a = d.l;
  printf("'%s' q (%016" PRIx64 " %" PRIu32 " %02x) mode %#" PRIo32 " uid %" PRIu32 " gid %" PRIu32
         " nlink %" PRIu64 " rdev %" PRIu64 " size %" PRIu64 " blksize %" PRIu64 " blocks %" PRIu64
         " atime %" PRIu64 ".%09" PRIu64 " mtime %" PRIu64 ".%09" PRIu64 " ctime %" PRIu64
         ".%09" PRIu64,
         d.name.c_str(), a.qid.path, a.qid.version, a.qid.type, a.mode, a.uid, a.gid, a.nlink,
         a.rdev, a.size, a.blksize, a.blocks, a.atime_sec, a.atime_nsec, a.mtime_sec, a.mtime_nsec,
         a.ctime_sec, a.ctime_nsec);
  if (a.valid & P9_GETATTR_BTIME)
    printf(" btime %" PRIu64 ".%09" PRIu64, a.btime_sec, a.btime_nsec);
  if (a.valid & P9_GETATTR_GEN) printf(" gen %" PRIu64, a.gen);
  if (a.valid & P9_GETATTR_DATA_VERSION) printf(" data_version %" PRIu64, a.data_version);
  printf("\n");
}

}  // namespace

int VerbLs(Ctx& c, const std::vector<std::string>& args) {
  Opts o(args, "ldn");
  if (!o.ok()) return Usage("ls [-ldn] [path...]");
  if (c.client == nullptr) return kOk;  // main checking the line
  std::vector<std::string> paths = o.rest();
  if (paths.empty()) paths.push_back("/");
  const bool longform = o.Has('l'), self = o.Has('d'), nosort = o.Has('n');
  int rc = kOk;
  for (const std::string& path : paths) {
    auto f = WalkTo(c, path);
    if (!f.ok()) {
      rc = Fail(path, f.status());
      continue;
    }
    std::vector<Entry> es;
    if (!self && (f->qid().type & QTDIR)) {
      // With several operands, entries are named by their whole path, so
      // the listing says which directory each came from.
      std::string prefix;
      if (paths.size() > 1) prefix = path.ends_with("/") ? path : path + "/";
      Status s = ListDir(*f, longform, c.dotl, prefix, &es);
      if (!s.ok()) {
        rc = Fail(path, s);
        continue;
      }
      if (!nosort) {
        std::sort(es.begin(), es.end(),
                  [](const Entry& a, const Entry& b) { return a.d.name < b.d.name; });
      }
    } else {
      Entry e;
      e.shown = path;
      if (longform) {
        auto st = f->Stat();
        if (!st.ok()) {
          rc = Fail(path, st.status());
          continue;
        }
        e.d = std::move(*st);
      }
      es.push_back(std::move(e));
    }
    PrintEntries(es, longform);
  }
  return rc;
}

int VerbStat(Ctx& c, const std::vector<std::string>& args) {
  Opts o(args, "");
  if (!o.ok() || o.rest().empty()) return Usage("stat path...");
  if (c.client == nullptr) return kOk;  // main checking the line
  int rc = kOk;
  for (const std::string& path : o.rest()) {
    auto f = WalkTo(c, path);
    if (!f.ok()) {
      rc = Fail(path, f.status());
      continue;
    }
    auto d = f->Stat();
    if (!d.ok()) {
      rc = Fail(path, d.status());
      continue;
    }
    if (d->name.empty()) d->name = BaseName(path);
    PrintStat(*d);
  }
  return rc;
}

}  // namespace ninep::cmd
