// fs.cc: the namespace verbs of bin/9p: create, mkdir, rm, mv, chmod.
#include <errno.h>

#include <cstdlib>
#include <string>

#include "cmd.h"

namespace ninep::cmd {
namespace {

// A Dir whose every field means "leave unchanged" in a Twstat.
Dir NullDir() { return DirFromStat(NullStat()); }

// True for the errors a server gives for a 9P2000.L call it lacks.
bool Unsupported(const Status& s) {
  return s.err() == ENOSYS || s.err() == EOPNOTSUPP || s.err() == EPROTO;
}

// Creates `path` (a directory when perm has DMDIR).
Status CreateOne(Ctx& c, std::string_view path, uint32_t perm) {
  std::string parent, name;
  if (!SplitPath(path, &parent, &name)) return Status(EEXIST, "file already exists");
  auto dir = WalkTo(c, parent);
  if (!dir.ok()) return dir.status();
  return dir->Create(name, perm, OREAD);  // the fid clunks when dir goes
}

// Parses an octal permission such as 644 or 0755.
bool ParsePerm(const std::string& s, uint32_t* perm) {
  if (s.empty() || s.size() > 5) return false;
  char* end = nullptr;
  unsigned long v = strtoul(s.c_str(), &end, 8);
  if (*end != '\0' || v > 0777) return false;
  *perm = static_cast<uint32_t>(v);
  return true;
}

// Applies a chmod mode, octal (644) or symbolic in the manner of Plan 9's
// chmod ([ugoa]*[+-=][rwxal]*, comma-separated), to the current mode.
bool ApplyMode(const std::string& spec, uint32_t cur, uint32_t* out) {
  uint32_t perm;
  if (ParsePerm(spec, &perm)) {
    *out = (cur & ~0777u) | perm;
    return true;
  }
  uint32_t m = cur;
  size_t i = 0;
  while (i <= spec.size()) {
    uint32_t who = 0;
    for (; i < spec.size() && std::string_view("ugoa").find(spec[i]) != std::string_view::npos;
         i++) {
      who |= spec[i] == 'u' ? 0700 : spec[i] == 'g' ? 0070 : spec[i] == 'o' ? 0007 : 0777;
    }
    if (who == 0) who = 0777;
    if (i >= spec.size() || std::string_view("+-=").find(spec[i]) == std::string_view::npos)
      return false;
    char op = spec[i++];
    uint32_t bits = 0, dm = 0;
    for (; i < spec.size() && spec[i] != ','; i++) {
      switch (spec[i]) {
        case 'r':
          bits |= 0444;
          break;
        case 'w':
          bits |= 0222;
          break;
        case 'x':
          bits |= 0111;
          break;
        case 'a':
          dm |= DMAPPEND;
          break;
        case 'l':
          dm |= DMEXCL;
          break;
        default:
          return false;
      }
    }
    bits &= who;
    if (op == '+') m |= bits | dm;
    if (op == '-') m &= ~(bits | dm);
    if (op == '=') m = (m & ~who & ~(DMAPPEND | DMEXCL)) | bits | dm;
    if (i >= spec.size()) break;
    i++;  // the comma
  }
  *out = m;
  return true;
}

// Removes `path`, and with `recursive` everything under it first.
Status RemovePath(Ctx& c, const std::string& path, bool recursive) {
  auto f = WalkTo(c, path);
  if (!f.ok()) return f.status();
  if (recursive && (f->qid().type & QTDIR)) {
    std::vector<Dir> ents;
    {
      auto g = f->Walk("");
      if (!g.ok()) return g.status();
      Status s = g->Open(OREAD);
      if (!s.ok()) return s;
      auto r = g->ReadDir();
      if (!r.ok()) return r.status();
      ents = std::move(*r);
    }
    std::string base = RelPath(path);
    for (const Dir& d : ents) {
      if (d.name == "." || d.name == "..") continue;
      Status s = RemovePath(c, base.empty() ? d.name : base + "/" + d.name, true);
      if (!s.ok()) return Status(s.err(), d.name + ": " + Reason(s));
    }
  }
  Qid q = f->qid();
  Status s = f->Remove();
  if (s.ok() || !c.dotl || !Unsupported(s)) return s;
  // A 9P2000.L server without Tremove takes Tunlinkat on the parent.
  std::string parent, name;
  if (!SplitPath(path, &parent, &name)) return s;
  auto dir = WalkTo(c, parent);
  if (!dir.ok()) return dir.status();
  Tunlinkat t;
  t.dirfd = dir->num();
  t.name = name;
  t.flags = (q.type & QTDIR) ? 0x200 /* AT_REMOVEDIR */ : 0;
  auto r = c.client->CallSync(t);
  return r.ok() ? Status() : r.status();
}

}  // namespace

int VerbCreate(Ctx& c, const std::vector<std::string>& args) {
  Opts o(args, "dp:");
  uint32_t perm = o.Has('d') ? 0777 : 0666;
  if (!o.ok() || o.rest().empty() || (o.Has('p') && !ParsePerm(o.Value('p'), &perm)))
    return Usage("create [-d] [-p perm] path...");
  if (c.client == nullptr) return kOk;  // main checking the line
  if (o.Has('d')) perm |= DMDIR;
  int rc = kOk;
  for (const std::string& path : o.rest()) {
    Status s = CreateOne(c, path, perm);
    if (!s.ok()) rc = Fail(path, s);
  }
  return rc;
}

int VerbMkdir(Ctx& c, const std::vector<std::string>& args) {
  Opts o(args, "pm:");
  uint32_t perm = 0777;
  if (!o.ok() || o.rest().empty() || (o.Has('m') && !ParsePerm(o.Value('m'), &perm)))
    return Usage("mkdir [-p] [-m perm] path...");
  if (c.client == nullptr) return kOk;  // main checking the line
  int rc = kOk;
  for (const std::string& path : o.rest()) {
    if (!o.Has('p')) {
      Status s = CreateOne(c, path, perm | DMDIR);
      if (!s.ok()) rc = Fail(path, s);
      continue;
    }
    // -p: make each missing element; existing directories are fine.
    std::string rel = RelPath(path), sofar;
    size_t i = 0;
    while (i <= rel.size() && !rel.empty()) {
      size_t j = rel.find('/', i);
      if (j == std::string::npos) j = rel.size();
      sofar = rel.substr(0, j);
      auto f = WalkTo(c, sofar);
      Status s;
      if (!f.ok()) {
        s = CreateOne(c, sofar, perm | DMDIR);
      } else if (!(f->qid().type & QTDIR)) {
        s = Status(ENOTDIR, "not a directory");
      }
      if (!s.ok()) {
        rc = Fail("/" + sofar, s);
        break;
      }
      i = j + 1;
    }
  }
  return rc;
}

int VerbRm(Ctx& c, const std::vector<std::string>& args) {
  Opts o(args, "rf");
  if (!o.ok() || o.rest().empty()) return Usage("rm [-rf] path...");
  if (c.client == nullptr) return kOk;  // main checking the line
  int rc = kOk;
  for (const std::string& path : o.rest()) {
    Status s = RemovePath(c, path, o.Has('r'));
    if (!s.ok() && !(o.Has('f') && s.err() == ENOENT)) rc = Fail(path, s);
  }
  return rc;
}

int VerbMv(Ctx& c, const std::vector<std::string>& args) {
  Opts o(args, "");
  if (!o.ok() || o.rest().size() != 2) return Usage("mv old new");
  if (c.client == nullptr) return kOk;  // main checking the line
  const std::string &from = o.rest()[0], &to = o.rest()[1];
  std::string op, on, np, nn;
  if (!SplitPath(from, &op, &on)) return Fail(from, "cannot move the root");
  // As mv(1): a new name that is a directory receives the file.
  auto target = WalkTo(c, to);
  if (target.ok() && (target->qid().type & QTDIR)) {
    np = RelPath(to);
    nn = on;
  } else if (!SplitPath(to, &np, &nn)) {
    return Fail(to, "cannot move onto the root");
  }
  auto f = WalkTo(c, from);
  if (!f.ok()) return Fail(from, f.status());
  auto odir = WalkTo(c, op);
  if (!odir.ok()) return Fail(from, odir.status());
  auto ndir = WalkTo(c, np);
  if (!ndir.ok()) return Fail(to, ndir.status());
  if (c.dotl) {
    Trenameat t;
    t.olddirfid = odir->num();
    t.oldname = on;
    t.newdirfid = ndir->num();
    t.newname = nn;
    auto r = c.client->CallSync(t);
    if (r.ok()) return kOk;
    if (!Unsupported(r.status())) return Fail(from, r.status());
    Trename t2;  // older 9P2000.L servers know only Trename
    t2.fid = f->num();
    t2.dfid = ndir->num();
    t2.name = nn;
    auto r2 = c.client->CallSync(t2);
    return r2.ok() ? kOk : Fail(from, r2.status());
  }
  // 9P2000 renames by wstat of the name, which cannot change directory.
  if (!(odir->qid() == ndir->qid()))
    return Fail(to, "9P2000 cannot move a file to another directory (try -L)");
  Dir d = NullDir();
  d.name = nn;
  Status s = f->Wstat(d);
  return s.ok() ? kOk : Fail(from, s);
}

int VerbChmod(Ctx& c, const std::vector<std::string>& args) {
  Opts o(args, "");
  if (!o.ok() || o.rest().size() < 2) return Usage("chmod mode path...");
  const std::string& spec = o.rest()[0];
  uint32_t probe;
  if (!ApplyMode(spec, 0, &probe)) return Usage("chmod mode path...");
  if (c.client == nullptr) return kOk;  // main checking the line
  int rc = kOk;
  for (size_t i = 1; i < o.rest().size(); i++) {
    const std::string& path = o.rest()[i];
    auto f = WalkTo(c, path);
    if (!f.ok()) {
      rc = Fail(path, f.status());
      continue;
    }
    auto cur = f->Stat();
    if (!cur.ok()) {
      rc = Fail(path, cur.status());
      continue;
    }
    Dir d = NullDir();
    ApplyMode(spec, cur->mode, &d.mode);
    Status s = f->Wstat(d);
    if (!s.ok()) rc = Fail(path, s);
  }
  return rc;
}

}  // namespace ninep::cmd
