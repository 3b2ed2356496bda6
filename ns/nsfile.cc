// nsfile.cc: the namespace-file parser (see nsfile.h and namespace(5)).
#include "ns/nsfile.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include <cstring>
#include <fstream>
#include <sstream>

namespace ns {
namespace {

bool Blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }
bool NameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

Status Invalid(std::string msg) { return Status(EINVAL, std::move(msg)); }

// The directory part of a path ("." when it has none).
std::string DirName(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

struct FileParser {
  const EnvLookup& env;
  std::vector<std::string> stack;  // real paths of the files being read, outermost first
  std::vector<Op> ops;

  Status Read(const std::string& path, const std::string& from) {
    char real[PATH_MAX];
    if (realpath(path.c_str(), real) == nullptr) {
      return Status(errno, from + path + ": " + std::strerror(errno));
    }
    for (const auto& s : stack) {
      if (s == real) {
        std::string chain;
        for (const auto& t : stack) chain += t + " -> ";
        return Status(ELOOP, from + "include loop: " + chain + real);
      }
    }
    std::ifstream in(path);
    if (!in) return Status(errno != 0 ? errno : EIO, from + path + ": " + std::strerror(errno));
    stack.emplace_back(real);
    std::string text;
    int lineno = 0;
    while (std::getline(in, text)) {
      ++lineno;
      const std::string where = path + ":" + std::to_string(lineno) + ": ";
      auto words = SplitWords(text, env);
      if (!words.ok()) return Status(words.status().err(), where + words.status().message());
      if (words->empty()) continue;
      if ((*words)[0] == ".") {
        if (words->size() != 2) return Invalid(where + "usage: . FILE");
        std::string inc = (*words)[1];
        if (inc[0] != '/') inc = DirName(path) + "/" + inc;
        if (auto st = Read(inc, where); !st.ok()) return st;
        continue;
      }
      auto op = ParseOp(*words);
      if (!op.ok()) return Status(op.status().err(), where + op.status().message());
      op->file = path;
      op->line = lineno;
      ops.push_back(std::move(*op));
    }
    stack.pop_back();
    return Status::Ok();
  }
};

}  // namespace

EnvLookup ProcessEnv() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = getenv(std::string(name).c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Result<std::vector<std::string>> SplitWords(std::string_view line, const EnvLookup& env) {
  std::vector<std::string> words;
  size_t i = 0;
  const size_t n = line.size();
  for (;;) {
    while (i < n && Blank(line[i])) ++i;
    if (i == n || line[i] == '#') break;
    std::string w;
    while (i < n && !Blank(line[i])) {
      char c = line[i];
      if (c == '\'') {
        ++i;
        for (;;) {
          if (i == n) return Invalid("unclosed quote");
          if (line[i] == '\'') {
            if (i + 1 < n && line[i + 1] == '\'') {
              w += '\'';
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          w += line[i++];
        }
      } else if (c == '$') {
        ++i;
        std::string name;
        if (i < n && line[i] == '{') {
          auto close = line.find('}', i);
          if (close == std::string_view::npos) return Invalid("unclosed ${");
          name = std::string(line.substr(i + 1, close - i - 1));
          i = close + 1;
        } else {
          while (i < n && NameChar(line[i])) name += line[i++];
        }
        if (name.empty()) return Invalid("$ without a name");
        for (char k : name) {
          if (!NameChar(k)) return Invalid("bad variable name ${" + name + "}");
        }
        auto v = env(name);
        if (!v) return Invalid("$" + name + " is not set");
        w += *v;
      } else {
        w += c;
        ++i;
      }
    }
    words.push_back(std::move(w));
  }
  return words;
}

Result<Op> ParseOp(const std::vector<std::string>& words) {
  if (words.empty()) return Invalid("empty operation");
  Op op;
  const std::string& verb = words[0];
  std::string allowed;
  size_t min = 0, max = 0;
  if (verb == "bind") {
    op.kind = Op::Kind::kBind, allowed = "abcq", min = max = 2;
  } else if (verb == "mount") {
    op.kind = Op::Kind::kMount, allowed = "abcqL", min = 2, max = 3;
  } else if (verb == "unmount") {
    op.kind = Op::Kind::kUnmount, allowed = "q", min = 1, max = 2;
  } else if (verb == "cd") {
    op.kind = Op::Kind::kCd, allowed = "q", min = max = 1;
  } else if (verb == "clear") {
    op.kind = Op::Kind::kClear, min = max = 0;
  } else {
    return Invalid("unknown operation " + Quote(verb));
  }
  size_t i = 1;
  for (; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w == "--") {
      ++i;
      break;
    }
    if (w.size() < 2 || w[0] != '-') break;
    for (char f : w.substr(1)) {
      if (allowed.find(f) == std::string::npos) {
        return Invalid(verb + ": unknown flag -" + std::string(1, f));
      }
      switch (f) {
        case 'a':
          op.after = true;
          break;
        case 'b':
          op.before = true;
          break;
        case 'c':
          op.create = true;
          break;
        case 'q':
          op.quiet = true;
          break;
        case 'L':
          op.dotl = true;
          break;
        default:
          break;
      }
    }
  }
  if (op.after && op.before) return Invalid(verb + ": -a and -b together");
  op.args.assign(words.begin() + static_cast<std::ptrdiff_t>(i), words.end());
  if (op.args.size() < min || op.args.size() > max) {
    static const char* const kUsage[] = {"bind [-abcq] NEW OLD", "mount [-abcqL] ADDR OLD [ANAME]",
                                         "unmount [NEW] OLD", "cd DIR", "clear"};
    return Invalid("usage: " + std::string(kUsage[static_cast<int>(op.kind)]));
  }
  for (const auto& a : op.args) {
    if (a.empty()) return Invalid(verb + ": empty operand");
  }
  return op;
}

Result<std::vector<Op>> ParseLine(std::string_view text, const std::string& file, int line,
                                  const EnvLookup& env) {
  const std::string where = file + ":" + std::to_string(line) + ": ";
  auto words = SplitWords(text, env);
  if (!words.ok()) return Status(words.status().err(), where + words.status().message());
  std::vector<Op> ops;
  if (words->empty()) return ops;
  if ((*words)[0] == ".") {
    if (words->size() != 2) return Invalid(where + "usage: . FILE");
    FileParser p{env, {}, {}};
    if (auto st = p.Read((*words)[1], where); !st.ok()) return st;
    return std::move(p.ops);
  }
  auto op = ParseOp(*words);
  if (!op.ok()) return Status(op.status().err(), where + op.status().message());
  op->file = file;
  op->line = line;
  ops.push_back(std::move(*op));
  return ops;
}

Result<std::vector<Op>> ParseFile(const std::string& path, const EnvLookup& env) {
  FileParser p{env, {}, {}};
  if (auto st = p.Read(path, ""); !st.ok()) return st;
  return std::move(p.ops);
}

std::string Quote(std::string_view word) {
  bool plain = !word.empty();
  for (char c : word) {
    if (Blank(c) || c == '\'' || c == '$' || c == '#' || c == '\n' || c == '\\') plain = false;
  }
  if (plain) return std::string(word);
  std::string q = "'";
  for (char c : word) {
    if (c == '\'') q += '\'';
    q += c;
  }
  return q + "'";
}

std::string FormatOp(const Op& op) {
  static const char* const kVerb[] = {"bind", "mount", "unmount", "cd", "clear"};
  std::string s = kVerb[static_cast<int>(op.kind)];
  std::string flags;
  if (op.after) flags += 'a';
  if (op.before) flags += 'b';
  if (op.create) flags += 'c';
  if (op.quiet) flags += 'q';
  if (op.dotl) flags += 'L';
  if (!flags.empty()) s += " -" + flags;
  // A first operand that starts with '-' would read back as a flag.
  if (!op.args.empty() && op.args[0].size() > 1 && op.args[0][0] == '-') s += " --";
  for (const auto& a : op.args) s += " " + Quote(a);
  return s;
}

}  // namespace ns
