// ctl.cc: ctl message parsing (see ctl.h).
#include "cmdfs/ctl.h"

#include <errno.h>
#include <signal.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "cmdfs/words.h"

namespace cmdfs {

namespace {

ninep::Status Bad(std::string what) { return ninep::Status(EINVAL, std::move(what)); }

// A decimal number that fits in uint64_t, with an optional k/m/g suffix
// (powers of 1024) when `suffixes`.
bool ParseCount(std::string_view s, bool suffixes, uint64_t* out) {
  if (s.empty()) return false;
  uint64_t mult = 1;
  if (suffixes) {
    switch (std::tolower(static_cast<unsigned char>(s.back()))) {
      case 'k':
        mult = 1ull << 10;
        break;
      case 'm':
        mult = 1ull << 20;
        break;
      case 'g':
        mult = 1ull << 30;
        break;
      default:
        break;
    }
    if (mult != 1) s.remove_suffix(1);
    if (s.empty()) return false;
  }
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    if (v > (UINT64_MAX - (c - '0')) / 10) return false;
    v = v * 10 + (c - '0');
  }
  if (v > UINT64_MAX / mult) return false;
  *out = v * mult;
  return true;
}

struct SigName {
  const char* name;
  int num;
};
constexpr SigName kSignals[] = {
    {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},   {"ILL", SIGILL},
    {"TRAP", SIGTRAP},     {"ABRT", SIGABRT}, {"BUS", SIGBUS},     {"FPE", SIGFPE},
    {"KILL", SIGKILL},     {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},   {"USR2", SIGUSR2},
    {"PIPE", SIGPIPE},     {"ALRM", SIGALRM}, {"TERM", SIGTERM},   {"CHLD", SIGCHLD},
    {"CONT", SIGCONT},     {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},
    {"TTOU", SIGTTOU},     {"URG", SIGURG},   {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ},
    {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},
    {"PWR", SIGPWR},       {"SYS", SIGSYS},
};

bool ValidEnvName(std::string_view n) {
  if (n.empty() || std::isdigit(static_cast<unsigned char>(n[0]))) return false;
  for (char c : n) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

ninep::Status WantArgs(const std::vector<std::string>& w, size_t lo, size_t hi) {
  size_t n = w.size() - 1;
  if (n >= lo && n <= hi) return ninep::Status::Ok();
  if (lo == hi && lo == 0) return Bad(w[0] + ": takes no arguments");
  if (n < lo) return Bad(w[0] + ": missing argument");
  return Bad(w[0] + ": too many arguments");
}

ninep::Status ParseLimit(std::string_view kv, CtlMsg* m) {
  size_t eq = kv.find('=');
  if (eq == std::string_view::npos) return Bad("limit: want NAME=VALUE, got " + Quote(kv));
  std::string_view k = kv.substr(0, eq), v = kv.substr(eq + 1);
  uint64_t n = 0;
  if (k == "cpu") {
    if (!ParseCount(v, false, &n) || n == 0) return Bad("limit: cpu: want whole seconds > 0");
    m->limits.cpu_s = n;
    m->limits_set |= 1;
  } else if (k == "mem") {
    if (!ParseCount(v, true, &n) || n < 4096)
      return Bad("limit: mem: want bytes >= 4096 (k/m/g allowed)");
    m->limits.mem = n;
    m->limits_set |= 2;
  } else if (k == "procs") {
    if (!ParseCount(v, false, &n) || n == 0 || n > (1u << 22))
      return Bad("limit: procs: want a count > 0");
    m->limits.procs = n;
    m->limits_set |= 4;
  } else if (k == "time") {
    auto ms = ParseSeconds(v);
    if (!ms.ok()) return Bad("limit: time: " + ms.status().message());
    m->limits.time_ms = *ms;
    m->limits_set |= 8;
  } else {
    return Bad("limit: unknown limit " + Quote(k) + " (cpu, mem, procs, time)");
  }
  return ninep::Status::Ok();
}

}  // namespace

ninep::Result<uint64_t> ParseSeconds(std::string_view s) {
  std::string str(s);
  if (str.empty() || !(std::isdigit(static_cast<unsigned char>(str[0])))) {
    return Bad("want seconds > 0, got " + Quote(s));
  }
  char* end = nullptr;
  errno = 0;
  double d = strtod(str.c_str(), &end);
  if (errno != 0 || end != str.c_str() + str.size() || !std::isfinite(d) || d <= 0 || d > 1e9) {
    return Bad("want seconds > 0, got " + Quote(s));
  }
  uint64_t ms = static_cast<uint64_t>(std::ceil(d * 1000));
  return ms == 0 ? 1 : ms;
}

ninep::Result<int> ParseSignal(std::string_view s) {
  uint64_t n = 0;
  if (ParseCount(s, false, &n)) {
    if (n < 1 || n > 64) return Bad("signal: no signal number " + std::string(s));
    return static_cast<int>(n);
  }
  std::string up;
  for (char c : s) up += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string_view name = up;
  if (name.substr(0, 3) == "SIG") name.remove_prefix(3);
  for (const auto& e : kSignals) {
    if (name == e.name) return e.num;
  }
  return Bad("signal: bad signal name " + Quote(s));
}

ninep::Result<CtlMsg> ParseCtl(std::string_view msg) {
  if (!msg.empty() && msg.back() == '\n') msg.remove_suffix(1);
  auto words = Split(msg);
  if (!words.ok()) return words.status();
  std::vector<std::string>& w = *words;
  if (w.empty()) return Bad("empty ctl message");
  CtlMsg m;
  const std::string& verb = w[0];
  ninep::Status s;
  if (verb == "exec") {
    if (w.size() < 2) return Bad("exec: missing command");
    if (w[1].empty()) return Bad("exec: empty command name");
    m.kind = CtlMsg::kExec;
    m.argv.assign(w.begin() + 1, w.end());
  } else if (verb == "kill" || verb == "killgrp") {
    if (!(s = WantArgs(w, 0, 0)).ok()) return s;
    m.kind = CtlMsg::kKill;
  } else if (verb == "signal") {
    if (!(s = WantArgs(w, 1, 1)).ok()) return s;
    auto sig = ParseSignal(w[1]);
    if (!sig.ok()) return sig.status();
    m.kind = CtlMsg::kSignal;
    m.sig = *sig;
  } else if (verb == "dir") {
    if (!(s = WantArgs(w, 1, 1)).ok()) return s;
    if (w[1].empty()) return Bad("dir: empty path");
    m.kind = CtlMsg::kDir;
    m.dir = w[1];
  } else if (verb == "env") {
    if (w.size() < 2) return Bad("env: missing NAME=VALUE");
    m.kind = CtlMsg::kEnv;
    for (size_t i = 1; i < w.size(); i++) {
      size_t eq = w[i].find('=');
      if (eq == std::string::npos) return Bad("env: want NAME=VALUE, got " + Quote(w[i]));
      std::string name = w[i].substr(0, eq);
      if (!ValidEnvName(name)) return Bad("env: bad variable name " + Quote(name));
      m.env.emplace_back(std::move(name), w[i].substr(eq + 1));
    }
  } else if (verb == "nice") {
    if (!(s = WantArgs(w, 0, 1)).ok()) return s;
    m.kind = CtlMsg::kNice;
    m.nice = 10;
    if (w.size() == 2) {
      uint64_t n = 0;
      if (!ParseCount(w[1], false, &n) || n > 19) return Bad("nice: want an increment 0..19");
      m.nice = static_cast<int>(n);
    }
  } else if (verb == "killonclose") {
    if (!(s = WantArgs(w, 0, 0)).ok()) return s;
    m.kind = CtlMsg::kKillOnClose;
  } else if (verb == "limit") {
    if (w.size() < 2) return Bad("limit: missing NAME=VALUE (cpu, mem, procs, time)");
    m.kind = CtlMsg::kLimit;
    for (size_t i = 1; i < w.size(); i++) {
      if (!(s = ParseLimit(w[i], &m)).ok()) return s;
    }
  } else {
    return Bad("unknown ctl message: " + QuoteLine(verb));
  }
  return m;
}

}  // namespace cmdfs
