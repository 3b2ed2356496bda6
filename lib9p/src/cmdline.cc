// cmdline.cc: option tables, the shared flag sets, and the exit
// conventions of every command.
#include "ninep/cmdline.h"

#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>

#include "ninep/wire.h"

namespace ninep {

Result<uint32_t> ParseSize(std::string_view s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p == s.data())
    return Status(EINVAL, "bad size '" + std::string(s) + "'");
  std::string_view rest(p, s.data() + s.size() - p);
  int shift = 0;
  if (rest == "k" || rest == "K") {
    shift = 10;
  } else if (rest == "m" || rest == "M") {
    shift = 20;
  } else if (!rest.empty()) {
    return Status(EINVAL, "bad size '" + std::string(s) + "'");
  }
  // Compared before the shift, so no suffix can wrap a size into range.
  if (v > (0xFFFFFFFFull >> shift))
    return Status(EINVAL, "size too large '" + std::string(s) + "'");
  return static_cast<uint32_t>(v << shift);
}

Result<uint32_t> ParseMsize(std::string_view s) {
  Result<uint32_t> v = ParseSize(s);
  if (v.ok() && *v < MINMSIZE)
    return Status(EINVAL, "msize " + std::string(s) + " below " + std::to_string(MINMSIZE));
  return v;
}

std::string DefaultUser() {
  const char* u = getenv("USER");
  if (u != nullptr && *u != '\0') return u;
  struct passwd* pw = getpwuid(getuid());
  if (pw != nullptr && pw->pw_name != nullptr) return pw->pw_name;
  return "none";
}

Command::Command(std::string name, std::string operands)
    : name_(std::move(name)), operands_(std::move(operands)) {}

Command& Command::Add(CmdOption o) {
  opts_.push_back(std::move(o));
  return *this;
}

Command& Command::Flag(char s, std::string long_name, std::string help, bool* out) {
  return Add({s, std::move(long_name), "", std::move(help), [out](std::string_view) {
                *out = true;
                return Status::Ok();
              }});
}

Command& Command::Value(char s, std::string long_name, std::string arg, std::string help,
                        std::string* out) {
  return Add({s, std::move(long_name), std::move(arg), std::move(help), [out](std::string_view v) {
                *out = std::string(v);
                return Status::Ok();
              }});
}

Command& Command::Msize(char s, std::string long_name, std::string help, uint32_t* out) {
  return Add({s, std::move(long_name), "MSIZE", std::move(help), [out](std::string_view v) {
                Result<uint32_t> m = ParseMsize(v);
                if (!m.ok()) return m.status();
                *out = *m;
                return Status::Ok();
              }});
}

Command& Command::Count(char s, std::string long_name, std::string arg, std::string help,
                        uint64_t* out) {
  return Add({s, std::move(long_name), std::move(arg), std::move(help), [out](std::string_view v) {
                uint64_t n = 0;
                auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
                if (ec != std::errc() || p != v.data() + v.size() || v.empty())
                  return Status(EINVAL, "want a whole number");
                *out = n;
                return Status::Ok();
              }});
}

Command& Command::Bytes(char s, std::string long_name, std::string help, uint64_t* out) {
  return Add({s, std::move(long_name), "SIZE", std::move(help), [out](std::string_view v) {
                Result<uint32_t> n = ParseSize(v);
                if (!n.ok()) return n.status();
                if (*n == 0) return Status(EINVAL, "want a size above 0");
                *out = *n;
                return Status::Ok();
              }});
}

Command& Command::Seconds(char s, std::string long_name, std::string arg, std::string help,
                          double* out) {
  return Add({s, std::move(long_name), std::move(arg), std::move(help), [out](std::string_view v) {
                std::string str(v);
                char* end = nullptr;
                errno = 0;
                double d = strtod(str.c_str(), &end);
                if (str.empty() || errno != 0 || *end != '\0' || !(d >= 0) || d > 1e9)
                  return Status(EINVAL, "want a number of seconds");
                *out = d;
                return Status::Ok();
              }});
}

Command& Command::AddServerFlags(ServerFlags* f) {
  Add({'a', "addr", "ADDR",
       std::string("listen on the dial string ADDR (default ") + kDefaultListenAddr +
           "; port 0 picks one and prints it)",
       [f](std::string_view v) {
         f->addr = std::string(v);
         f->addr_given = true;
         return Status::Ok();
       }});
  Flag('s', "stdio", "serve one client on standard input and output", &f->stdio);
  Msize('m', "msize", "largest msize to accept (k and m suffixes)", &f->msize);
  Flag('D', "trace", "trace every 9P message on standard error", &f->trace);
  Count(0, "max-fids", "N", "refuse a connection's fid beyond N (EMFILE)", &f->max_fids);
  Count(0, "max-conns", "N", "close connections beyond N at once", &f->max_conns);
  Count(0, "max-inflight", "N", "stop reading a connection handling N requests", &f->max_inflight);
  Bytes(0, "max-inflight-bytes", "stop reading a connection whose requests hold SIZE bytes",
        &f->max_inflight_bytes);
  Bytes(0, "max-queued-bytes", "stop reading a connection with SIZE bytes of answers unsent",
        &f->max_queued_bytes);
  Value(0, "cert", "FILE", "TLS: our certificate (PEM), for tls! addresses", &f->tls.cert);
  Value(0, "key", "FILE", "TLS: the private key of --cert (PEM)", &f->tls.key);
  Value(0, "ca", "FILE", "TLS: require client certificates signed by these CAs", &f->tls.ca);
  Value(0, "crl", "FILE", "TLS: refuse client certificates this CRL revokes", &f->tls.crl);
  Value(0, "psk", "FILE", "TLS: accept clients holding a key of FILE (TLS 1.3 PSK)", &f->tls.psk);
  Value(0, "allow", "USERS", "only these users (comma-separated) may attach", &f->allow);
  Value(0, "readonly", "USERS", "these users (comma-separated) may only read", &f->readonly);
  Flag(0, "insecure", "listen beyond loopback without TLS client authentication", &f->insecure);
  return *this;
}

Command& Command::AddClientFlags(ClientFlags* f) {
  Add({'a', "addr", "ADDR", "dial the server at ADDR (default $NINEP_ADDR)",
       [f](std::string_view v) {
         f->addr = std::string(v);
         f->addr_given = true;
         return Status::Ok();
       }});
  Value('A', "aname", "ANAME", "attach to the tree ANAME", &f->aname);
  Value('u', "user", "USER", "attach as USER (default $USER)", &f->user);
  Flag('L', "dotl", "speak 9P2000.L instead of 9P2000", &f->dotl);
  Msize('m', "msize", "largest msize to ask for (k and m suffixes)", &f->msize);
  Flag('D', "trace", "trace every 9P message on standard error", &f->trace);
  Value(0, "cert", "FILE", "TLS: our certificate (PEM) (default $NINEP_CERT)", &f->tls.cert);
  Value(0, "key", "FILE", "TLS: the private key of --cert (default $NINEP_KEY)", &f->tls.key);
  Value(0, "ca", "FILE", "TLS: CAs that sign the server's certificate (default $NINEP_CA)",
        &f->tls.ca);
  Value(0, "psk", "FILE", "TLS: the pre-shared key file (default $NINEP_PSK)", &f->tls.psk);
  after_parse_.push_back([f] {
    TlsOptions env = TlsOptionsFromEnv();
    for (auto [mine, from] : {std::pair{&f->tls.cert, &env.cert}, std::pair{&f->tls.key, &env.key},
                              std::pair{&f->tls.ca, &env.ca}, std::pair{&f->tls.psk, &env.psk}}) {
      if (mine->empty()) *mine = *from;
    }
    f->tls.psk_identity = f->user.empty() ? DefaultUser() : f->user;
    if (f->addr_given) return;
    const char* env_addr = getenv("NINEP_ADDR");
    if (env_addr != nullptr) f->addr = env_addr;
  });
  return *this;
}

Command& Command::Epilog(std::string text) {
  epilog_ = std::move(text);
  return *this;
}

const CmdOption* Command::FindShort(char c) const {
  for (const CmdOption& o : opts_)
    if (o.short_name == c) return &o;
  return nullptr;
}

const CmdOption* Command::FindLong(std::string_view name) const {
  for (const CmdOption& o : opts_)
    if (!o.long_name.empty() && o.long_name == name) return &o;
  return nullptr;
}

namespace {

// "-a" or "--addr", as an option is named in an error.
std::string Spelling(const CmdOption& o, bool as_long) {
  if (as_long || o.short_name == 0) return "--" + o.long_name;
  return std::string("-") + o.short_name;
}

Status Apply(const CmdOption& o, bool as_long, std::string_view value) {
  Status s = o.set(value);
  if (s.ok()) return s;
  std::string what = Spelling(o, as_long);
  if (!o.arg.empty()) what += " " + std::string(value);
  return Status(EINVAL, what + ": " + s.message());
}

}  // namespace

Result<Command::Parsed> Command::Parse(const std::vector<std::string>& args) {
  Parsed p;
  size_t i = 1;
  for (; i < args.size(); i++) {
    const std::string& a = args[i];
    if (a == "--") {
      i++;
      break;
    }
    if (a.size() < 2 || a[0] != '-') break;  // an operand ("-" is one too)
    if (a[1] == '-') {
      std::string_view body = std::string_view(a).substr(2);
      size_t eq = body.find('=');
      std::string_view name = body.substr(0, eq);
      if (name == "help") {
        p.help = true;
        continue;
      }
      const CmdOption* o = FindLong(name);
      if (o == nullptr) return Status(EINVAL, "unknown option --" + std::string(name));
      std::string_view value;
      if (o->arg.empty()) {
        if (eq != std::string_view::npos)
          return Status(EINVAL, "option --" + std::string(name) + " takes no value");
      } else if (eq != std::string_view::npos) {
        value = body.substr(eq + 1);
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return Status(EINVAL, "option --" + std::string(name) + " needs " + o->arg);
      }
      if (Status s = Apply(*o, true, value); !s.ok()) return s;
      continue;
    }
    // A cluster of short flags; a flag with a value takes the rest of the
    // word ("-m8k") or the next word ("-m 8k").
    for (size_t k = 1; k < a.size(); k++) {
      if (a[k] == 'h') {
        p.help = true;
        continue;
      }
      const CmdOption* o = FindShort(a[k]);
      if (o == nullptr) return Status(EINVAL, std::string("unknown option -") + a[k]);
      if (o->arg.empty()) {
        if (Status s = Apply(*o, false, ""); !s.ok()) return s;
        continue;
      }
      std::string_view value;
      if (k + 1 < a.size()) {
        value = std::string_view(a).substr(k + 1);
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return Status(EINVAL, std::string("option -") + a[k] + " needs " + o->arg);
      }
      if (Status s = Apply(*o, false, value); !s.ok()) return s;
      break;
    }
  }
  p.rest.assign(args.begin() + static_cast<long>(std::min(i, args.size())), args.end());
  for (auto& f : after_parse_) f();
  return p;
}

std::vector<std::string> Command::ParseOrExit(int argc, char** argv) {
  Result<Parsed> p = Parse(std::vector<std::string>(argv, argv + argc));
  if (!p.ok()) UsageError(p.status().message());
  if (p->help) {
    fputs(Help().c_str(), stdout);
    fflush(stdout);
    exit(kExitOk);
  }
  return std::move(p->rest);
}

std::string Command::UsageLine() const {
  std::string u = "usage: " + name_;
  for (const CmdOption& o : opts_) {
    u += " [";
    u += o.short_name ? std::string("-") + o.short_name : "--" + o.long_name;
    if (!o.arg.empty()) u += " " + o.arg;
    u += "]";
  }
  if (!operands_.empty()) u += " " + operands_;
  return u + "\n";
}

std::string Command::Help() const {
  std::string h = UsageLine();
  auto line = [&h](std::string left, const std::string& help) {
    left = "  " + left;
    if (left.size() < 26)
      left.resize(26, ' ');
    else
      left += "  ";
    h += left + help + "\n";
  };
  for (const CmdOption& o : opts_) {
    std::string left;
    if (o.short_name) left = std::string("-") + o.short_name;
    if (!o.long_name.empty()) left += (left.empty() ? "--" : ", --") + o.long_name;
    if (!o.arg.empty()) left += " " + o.arg;
    line(left, o.help);
  }
  line("-h, --help", "print this help and exit");
  if (!epilog_.empty()) h += epilog_;
  return h;
}

void Command::UsageError(std::string_view why) const {
  if (!why.empty())
    fprintf(stderr, "%s: %.*s\n", name_.c_str(), static_cast<int>(why.size()), why.data());
  fputs(UsageLine().c_str(), stderr);
  exit(kExitUsage);
}

void Command::Fatal(std::string_view what, std::string_view why) const {
  fprintf(stderr, "%s: %.*s: %.*s\n", name_.c_str(), static_cast<int>(what.size()), what.data(),
          static_cast<int>(why.size()), why.data());
  exit(kExitFail);
}

}  // namespace ninep
