// session.cc: `9p session`, many verbs on one connection, read from stdin.
//
// A cmdfs command directory lives only while one of its files is open, so
// a script must hold fids across steps: session keeps named open fids
// (handles) and runs every ordinary verb too, all on one attach. The
// grammar is in man1/9p.1.
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "cmd.h"

namespace ninep::cmd {
namespace {

// An open fid kept under a name, with its file offset as in Plan 9's fds.
struct Handle {
  Fid fid;
  uint64_t offset = 0;
};

// A word of a session line and where it ends in the line.
struct Word {
  std::string text;
  size_t end = 0;
};

// Reads stdin line by line, buffered (the session owns all of stdin).
class LineReader {
 public:
  // False at EOF with no more lines; *err set on a read error.
  bool Next(std::string* line, Status* err) {
    for (;;) {
      size_t nl = buf_.find('\n');
      if (nl != std::string::npos) {
        line->assign(buf_, 0, nl);
        buf_.erase(0, nl + 1);
        return true;
      }
      if (eof_) {
        if (buf_.empty()) return false;
        line->swap(buf_);
        buf_.clear();
        return true;
      }
      char b[8192];
      ssize_t n = read(0, b, sizeof b);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        *err = Errno(errno, "read stdin");
        return false;
      }
      if (n == 0) eof_ = true;
      buf_.append(b, static_cast<size_t>(n));
    }
  }

 private:
  std::string buf_;
  bool eof_ = false;
};

class Session {
 public:
  Session(Ctx& c, bool stop_on_error) : c_(c), stop_(stop_on_error) {}

  int Run() {
    LineReader in;
    std::string line;
    Status err;
    int rc = kOk;
    while (in.Next(&line, &err)) {
      int r = Line(line);
      fflush(stdout);
      if (r != kOk) {
        rc = kFail;
        if (stop_) break;
      }
    }
    if (!err.ok()) rc = Fail("stdin", err);
    handles_.clear();  // clunks every fid still open
    return rc;
  }

 private:
  // Splits a line into words: blanks separate, '...' quotes (with '' for a
  // quote, as rc does), "..." quotes with \ escapes, $name and ${name}
  // expand outside single quotes, # starts a comment.
  Status Split(const std::string& line, std::vector<Word>* out) {
    size_t i = 0, n = line.size();
    while (i < n) {
      while (i < n && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) i++;
      if (i >= n || line[i] == '#') break;
      Word w;
      while (i < n && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') {
        char ch = line[i];
        if (ch == '\'') {
          for (i++;; i++) {
            if (i >= n) return Status(EINVAL, "unterminated quote");
            if (line[i] == '\'') {
              if (i + 1 < n && line[i + 1] == '\'') {
                w.text += '\'';
                i++;
                continue;
              }
              i++;
              break;
            }
            w.text += line[i];
          }
        } else if (ch == '"') {
          for (i++;; i++) {
            if (i >= n) return Status(EINVAL, "unterminated quote");
            if (line[i] == '"') {
              i++;
              break;
            }
            if (line[i] == '\\' && i + 1 < n) {
              w.text += line[++i];
            } else if (line[i] == '$') {
              Status s = Expand(line, &i, &w.text);
              if (!s.ok()) return s;
              i--;
            } else {
              w.text += line[i];
            }
          }
        } else if (ch == '$') {
          Status s = Expand(line, &i, &w.text);
          if (!s.ok()) return s;
        } else if (ch == '\\' && i + 1 < n) {
          w.text += line[i + 1];
          i += 2;
        } else {
          w.text += ch;
          i++;
        }
      }
      w.end = i;
      out->push_back(std::move(w));
    }
    return Status();
  }

  // Expands $name or ${name} at line[*i]; leaves *i after it.
  Status Expand(const std::string& line, size_t* i, std::string* out) {
    size_t j = *i + 1;
    std::string name;
    if (j < line.size() && line[j] == '{') {
      size_t close = line.find('}', j);
      if (close == std::string::npos) return Status(EINVAL, "unterminated ${");
      name = line.substr(j + 1, close - j - 1);
      j = close + 1;
    } else {
      while (j < line.size() && (isalnum(static_cast<unsigned char>(line[j])) || line[j] == '_'))
        name += line[j++];
    }
    if (name.empty()) {
      *out += '$';
      *i += 1;
      return Status();
    }
    auto it = vars_.find(name);
    if (it == vars_.end()) return Status(EINVAL, "$" + name + ": variable not set");
    *out += it->second;
    *i = j;
    return Status();
  }

  // The verbatim text after word k (blanks after it skipped).
  static std::string TextAfter(const std::string& line, const std::vector<Word>& w, size_t k) {
    size_t p = w[k].end;
    while (p < line.size() && (line[p] == ' ' || line[p] == '\t')) p++;
    return line.substr(p);
  }

  Handle* Find(const std::string& name) {
    auto it = handles_.find(name);
    return it == handles_.end() ? nullptr : &it->second;
  }

  // Parses an open mode: r, w, rw or x, then t (truncate) or d (remove on
  // close) in any order.
  static bool ParseMode(const std::string& s, uint8_t* mode) {
    bool r = false, w = false, x = false, t = false, d = false;
    for (char ch : s) {
      switch (ch) {
        case 'r':
          r = true;
          break;
        case 'w':
          w = true;
          break;
        case 'x':
          x = true;
          break;
        case 't':
          t = true;
          break;
        case 'd':
          d = true;
          break;
        default:
          return false;
      }
    }
    if (x && (r || w)) return false;
    *mode = x ? OEXEC : (r && w) ? ORDWR : w ? OWRITE : OREAD;
    if (t) *mode |= OTRUNC;
    if (d) *mode |= ORCLOSE;
    return true;
  }

  int Open(const std::vector<std::string>& a) {
    uint8_t mode = OREAD;
    if (a.size() < 3 || a.size() > 4 || (a.size() == 4 && !ParseMode(a[3], &mode)))
      return Fail("session", "usage: open name path [r|w|rw|x][t][d]");
    if (Find(a[1]) != nullptr) return Fail(a[1], "already open");
    auto f = OpenPath(c_, a[2], mode);
    if (!f.ok()) return Fail(a[2], f.status());
    handles_[a[1]] = Handle{std::move(*f), 0};
    return kOk;
  }

  // One Tread on a handle, printed as it is.
  int ReadOnce(Handle* h, const std::string& name, uint64_t count, std::string* into) {
    uint64_t max = h->fid.client()->MaxIO();
    if (h->fid.iounit() != 0 && h->fid.iounit() < max) max = h->fid.iounit();
    std::vector<uint8_t> buf(count == 0 || count > max ? max : count);
    auto n = h->fid.ReadOnce(h->offset, buf);
    if (!n.ok()) return Fail(name, n.status());
    h->offset += *n;
    if (into != nullptr) {
      into->assign(reinterpret_cast<const char*>(buf.data()), *n);
      return kOk;
    }
    fflush(stdout);
    if (!WriteAll(1, buf.data(), *n)) return Fail("stdout", strerror(errno));
    return kOk;
  }

  int ReadAll(Handle* h, const std::string& name) {
    std::vector<uint8_t> buf(h->fid.client()->MaxIO());
    fflush(stdout);
    for (;;) {
      auto n = h->fid.ReadOnce(h->offset, buf);
      if (!n.ok()) return Fail(name, n.status());
      if (*n == 0) return kOk;
      h->offset += *n;
      if (!WriteAll(1, buf.data(), *n)) return Fail("stdout", strerror(errno));
    }
  }

  int Write(const std::string& name, std::string text) {
    auto data =
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size());
    if (Handle* h = Find(name)) {
      auto n = h->fid.Write(h->offset, data);
      if (!n.ok()) return Fail(name, n.status());
      h->offset += *n;
      return kOk;
    }
    // Not a handle: a path, written as `write` does with the text as stdin.
    auto f = OpenPath(c_, name, OWRITE | OTRUNC);
    if (!f.ok()) return Fail(name, f.status());
    auto n = f->Write(0, data);
    if (!n.ok()) return Fail(name, n.status());
    return kOk;
  }

  int Line(const std::string& line) {
    std::vector<Word> words;
    Status s = Split(line, &words);
    if (!s.ok()) return Fail("session", s);
    if (words.empty()) return kOk;
    std::vector<std::string> a;
    a.reserve(words.size());
    for (auto& w : words) a.push_back(w.text);
    const std::string& verb = a[0];
    if (verb == "open") return Open(a);
    if (verb == "close") {
      if (a.size() != 2) return Fail("session", "usage: close name");
      auto it = handles_.find(a[1]);
      if (it == handles_.end()) return Fail(a[1], "not open");
      Status cs = it->second.fid.Clunk();
      handles_.erase(it);
      return cs.ok() ? kOk : Fail(a[1], cs);
    }
    if (verb == "read" && a.size() >= 2 && Find(a[1]) != nullptr) {
      uint64_t count = 0;
      if (a.size() > 3 || (a.size() == 3 && (count = strtoull(a[2].c_str(), nullptr, 10)) == 0))
        return Fail("session", "usage: read name [count]");
      return ReadOnce(Find(a[1]), a[1], count, nullptr);
    }
    if (verb == "readall") {
      if (a.size() != 2) return Fail("session", "usage: readall name");
      Handle* h = Find(a[1]);
      if (h == nullptr) return Fail(a[1], "not open");
      return ReadAll(h, a[1]);
    }
    if (verb == "write" || verb == "writeln") {
      if (a.size() < 2) return Fail("session", "usage: " + verb + " name text");
      std::string text = a.size() > 2 ? TextAfter(line, words, 1) : "";
      if (verb == "writeln") text += '\n';
      return Write(a[1], std::move(text));
    }
    if (verb == "seek") {
      if (a.size() != 3) return Fail("session", "usage: seek name offset");
      Handle* h = Find(a[1]);
      if (h == nullptr) return Fail(a[1], "not open");
      char* end = nullptr;
      uint64_t off = strtoull(a[2].c_str(), &end, 10);
      if (*end != '\0') return Fail("session", "usage: seek name offset");
      h->offset = off;
      return kOk;
    }
    if (verb == "let") {
      if (a.size() != 3) return Fail("session", "usage: let var name");
      Handle* h = Find(a[2]);
      if (h == nullptr) return Fail(a[2], "not open");
      std::string v;
      int rc = ReadOnce(h, a[2], 0, &v);
      if (rc != kOk) return rc;
      while (!v.empty() && isspace(static_cast<unsigned char>(v.back()))) v.pop_back();
      vars_[a[1]] = v;
      return kOk;
    }
    if (verb == "echo") {
      std::string text;
      for (size_t i = 1; i < a.size(); i++) text += (i > 1 ? " " : "") + a[i];
      printf("%s\n", text.c_str());
      return kOk;
    }
    if (verb == "writefd" || verb == "rdwr" || verb == "session")
      return Fail(verb, "not available in a session (stdin is the script)");
    return RunVerb(c_, a);
  }

  Ctx& c_;
  bool stop_;
  std::map<std::string, Handle> handles_;
  std::map<std::string, std::string> vars_;
};

}  // namespace

int VerbSession(Ctx& c, const std::vector<std::string>& args) {
  Opts o(args, "e");
  if (!o.ok() || !o.rest().empty()) return Usage("session [-e]");
  if (c.client == nullptr) return kOk;  // main checking the line
  if (c.in_session) return Fail("session", "already in a session");
  c.in_session = true;
  Session s(c, o.Has('e'));
  int rc = s.Run();
  c.in_session = false;
  return rc;
}

}  // namespace ninep::cmd
