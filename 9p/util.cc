// util.cc: error reporting, paths and option parsing for bin/9p.
#include <errno.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "cmd.h"
#include "ninep/cmdline.h"

namespace ninep::cmd {

int Fail(std::string_view what, std::string_view msg) {
  fflush(stdout);
  fprintf(stderr, "9p: %.*s: %.*s\n", static_cast<int>(what.size()), what.data(),
          static_cast<int>(msg.size()), msg.data());
  return kFail;
}

int Fail(std::string_view what, const Status& s) { return Fail(what, Reason(s)); }

int Usage(std::string_view line) {
  fflush(stdout);
  fprintf(stderr, "usage: 9p [-a addr] [-A aname] [-u user] [-L] [-m msize] [-D] %.*s\n",
          static_cast<int>(line.size()), line.data());
  return kUsage;
}

std::string Reason(const Status& s) {
  std::string m = s.message();
  if (m.empty()) m = ErrnoToText(s.err());
  return m;
}

// The client names the path it walked in a walk error ("a/b: file does not
// exist"); bin/9p names the user's spelling of it instead, so drop the
// library's when it is (part of) the path we walked.
static Status StripWalkPrefix(const Status& s, const std::string& rel) {
  std::string m = s.message();
  size_t colon = m.find(": ");
  if (colon == std::string::npos) return s;
  std::string head = m.substr(0, colon);
  bool named =
      head == rel || (!rel.empty() && (rel.starts_with(head + "/") || rel.ends_with("/" + head) ||
                                       rel.find("/" + head + "/") != std::string::npos));
  if (!named && !(rel.empty() && (head == "/" || head == "."))) return s;
  return Status(s.err(), m.substr(colon + 2));
}

std::string RelPath(std::string_view path) {
  std::string out;
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') i++;
    size_t j = i;
    while (j < path.size() && path[j] != '/') j++;
    if (j > i) {
      if (!out.empty()) out += '/';
      out.append(path.substr(i, j - i));
    }
    i = j;
  }
  return out;
}

bool SplitPath(std::string_view path, std::string* parent, std::string* name) {
  std::string rel = RelPath(path);
  if (rel.empty()) return false;
  size_t slash = rel.rfind('/');
  if (slash == std::string::npos) {
    parent->clear();
    *name = rel;
  } else {
    *parent = rel.substr(0, slash);
    *name = rel.substr(slash + 1);
  }
  return true;
}

Result<Fid> WalkFrom(const Fid& from, std::string_view path) {
  std::string rel = RelPath(path);
  auto f = from.Walk(rel);
  if (!f.ok()) return StripWalkPrefix(f.status(), rel);
  return f;
}

Result<Fid> WalkTo(Ctx& c, std::string_view path) { return WalkFrom(*c.root, path); }

Result<Fid> OpenPath(Ctx& c, std::string_view path, uint8_t omode) {
  auto f = WalkTo(c, path);
  if (!f.ok()) return f.status();
  Status s = f->Open(omode);
  if (!s.ok()) return s;
  return std::move(*f);
}

bool WriteAll(int fd, const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// One parser for every command line: the verb's flags are a table for
// ninep/cmdline.h's, which keeps no global state between verbs.
Opts::Opts(const std::vector<std::string>& args, std::string_view spec) {
  Command cmd(args.empty() ? "9p" : args[0]);
  for (size_t k = 0; k < spec.size(); k++) {
    if (spec[k] == ':') continue;
    char f = spec[k];
    bool takes_value = k + 1 < spec.size() && spec[k + 1] == ':';
    cmd.Add({f, "", takes_value ? "VALUE" : "", "", [this, f](std::string_view v) {
               flags_.emplace_back(f, std::string(v));
               return Status::Ok();
             }});
  }
  Result<Command::Parsed> p = cmd.Parse(args);
  ok_ = p.ok() && !p->help;  // no verb takes -h
  if (ok_) rest_ = std::move(p->rest);
}

bool Opts::Has(char f) const {
  for (auto& [k, v] : flags_)
    if (k == f) return true;
  return false;
}

std::string Opts::Value(char f) const {
  std::string out;
  for (auto& [k, v] : flags_)
    if (k == f) out = v;
  return out;
}

}  // namespace ninep::cmd
