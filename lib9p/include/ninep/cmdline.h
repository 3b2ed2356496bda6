// cmdline.h: the command line of every ninefold command: one table of
// options per command, the flag sets every server and every client shares,
// and the conventions of ../shared/DESIGN.md "Command conventions":
//
//   -h, --help      usage and the option list on stdout, exit 0
//   usage error     "cmd: reason" and the usage line on stderr, exit 2
//   fatal error     one line "cmd: what: why" on stderr, exit 1
//
// A shared flag (and later --cert, --key, --max-fids ...) is added once, in
// AddServerFlags or AddClientFlags, and every command that calls them gets
// it. The server side's glue (listen, print the bound address, signals)
// is in ninep/server_cmdline.h, so a client includes no server framework.
//
// Parsing is our own, not getopt's: it keeps no global state, so tests and
// the 9p command's session mode can parse many times in one process.
// Thread-safety: a Command is used by one thread; the free functions are
// pure except ParseOrExit, Fatal and UsageError, which print and exit.
#ifndef NINEP_CMDLINE_H_
#define NINEP_CMDLINE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ninep/status.h"
#include "ninep/tls.h"

namespace ninep {

// Exit statuses, as every ninefold command uses them.
inline constexpr int kExitOk = 0, kExitFail = 1, kExitUsage = 2;

// Where a server listens unless told otherwise: loopback only, so no
// server is reachable from another host unless asked (-a).
inline constexpr char kDefaultListenAddr[] = "tcp!127.0.0.1!564";

// Parses a size: a decimal number with an optional k or m suffix (binary
// units, "64k" = 65536). EINVAL when malformed or above 2^32-1.
Result<uint32_t> ParseSize(std::string_view s);

// ParseSize, and at least MINMSIZE (256): what -m and msize= accept.
Result<uint32_t> ParseMsize(std::string_view s);

// The user name a client attaches as without -u: $USER, else the password
// file's name for our uid, else "none".
std::string DefaultUser();

// One option of a command's table.
struct CmdOption {
  char short_name = 0;    // 0: long only
  std::string long_name;  // "": short only
  std::string arg;        // "" for a flag; else the value's name in usage ("ADDR")
  std::string help;       // one line for --help
  // Called with the value ("" for a flag), in command-line order; an error
  // is a usage error that names the option.
  std::function<Status(std::string_view value)> set;
};

// The flags every server takes (DESIGN.md): -a, -s, -m, -D.
struct ServerFlags {
  std::string addr = kDefaultListenAddr;  // -a, --addr
  bool addr_given = false;                // -a was on the command line
  bool stdio = false;                     // -s, --stdio: one client on stdin/stdout
  uint32_t msize = 0;                     // -m, --msize; 0: the framework's default
  bool trace = false;                     // -D, --trace
  // Limits a peer cannot push past (ServerOptions); 0 keeps the default.
  uint64_t max_fids = 0;            // --max-fids N: fids per connection
  uint64_t max_conns = 0;           // --max-conns N: connections at once
  uint64_t max_inflight = 0;        // --max-inflight N: requests handled per connection
  uint64_t max_inflight_bytes = 0;  // --max-inflight-bytes SIZE: their frames and answers
  uint64_t max_queued_bytes = 0;    // --max-queued-bytes SIZE: answers waiting to be written
  // TLS and access (ninep/tls.h, man7/ninefold-security.7).
  TlsOptions tls;         // --cert, --key, --ca, --crl, --psk FILE
  std::string allow;      // --allow USER,...: who may attach (default anyone)
  std::string readonly;   // --readonly USER,...: who may only read
  bool insecure = false;  // --insecure: listen beyond loopback unauthenticated
  // True when the server should listen: always, unless -s came without -a.
  bool listens() const { return !stdio || addr_given; }
};

// The flags every client takes (DESIGN.md): -a (or $NINEP_ADDR), -A, -u,
// -L, -m, -D.
struct ClientFlags {
  std::string addr;         // -a, --addr; else $NINEP_ADDR once parsed; may be ""
  bool addr_given = false;  // -a was on the command line
  std::string aname;        // -A, --aname
  std::string user;         // -u, --user; "" when not given
  bool dotl = false;        // -L, --dotl: 9P2000.L
  uint32_t msize = 0;       // -m, --msize; 0: leave the preset default
  bool trace = false;       // -D, --trace
  // --cert, --key, --ca, --psk FILE; after parsing, each one not given
  // falls back to $NINEP_CERT, $NINEP_KEY, $NINEP_CA, $NINEP_PSK.
  TlsOptions tls;
};

// One command's option table and its messages.
class Command {
 public:
  // `name` prefixes every message; `operands` ends the usage line
  // ("verb args...", "addr mountpoint", "" for none).
  explicit Command(std::string name, std::string operands = "");

  // Adds any option. Short names must be unique; -h and --help are taken.
  Command& Add(CmdOption o);
  // A flag without a value that sets *out.
  Command& Flag(char s, std::string long_name, std::string help, bool* out);
  // An option whose value is stored in *out (the last one given wins).
  Command& Value(char s, std::string long_name, std::string arg, std::string help,
                 std::string* out);
  // An msize option (ParseMsize) stored in *out.
  Command& Msize(char s, std::string long_name, std::string help, uint32_t* out);
  // A whole decimal number (no sign, no suffix) stored in *out.
  Command& Count(char s, std::string long_name, std::string arg, std::string help, uint64_t* out);
  // A size in bytes above 0 (k and m suffixes, binary; below 4 GiB) in *out.
  Command& Bytes(char s, std::string long_name, std::string help, uint64_t* out);
  // A non-negative number of seconds, fractions allowed ("0.5"), in *out.
  Command& Seconds(char s, std::string long_name, std::string arg, std::string help, double* out);
  // The shared server flags, bound to *f (which must outlive parsing).
  Command& AddServerFlags(ServerFlags* f);
  // The shared client flags, bound to *f; after parsing, f->addr falls
  // back to $NINEP_ADDR when -a was not given.
  Command& AddClientFlags(ClientFlags* f);
  // Text printed after the option list by --help (a verb list, notes).
  Command& Epilog(std::string text);

  // What Parse found.
  struct Parsed {
    bool help = false;              // -h or --help: print Help(), exit 0
    std::vector<std::string> rest;  // the operands after the options
  };
  // Parses args (args[0] is the program and is skipped). Options stop at
  // "--" or at the first operand, so a verb's own flags stay its own.
  // EINVAL with the reason ("unknown option -x") on a usage error.
  Result<Parsed> Parse(const std::vector<std::string>& args);
  // Parse for main: on --help prints Help() and exits 0; on an error
  // prints the reason and the usage line and exits 2. Returns the operands.
  std::vector<std::string> ParseOrExit(int argc, char** argv);

  // "usage: cmd [-a ADDR] [-s] ... operands\n": every option in table order.
  std::string UsageLine() const;
  // The usage line, one line per option, and the epilog.
  std::string Help() const;
  // The command's name, as messages and the trace prefix show it.
  const std::string& name() const { return name_; }

  // Prints "cmd: why" (when why is not empty) and the usage line to
  // stderr; exits 2.
  [[noreturn]] void UsageError(std::string_view why) const;
  // Prints "cmd: what: why" to stderr; exits 1.
  [[noreturn]] void Fatal(std::string_view what, std::string_view why) const;

 private:
  const CmdOption* FindShort(char c) const;
  const CmdOption* FindLong(std::string_view name) const;

  std::string name_, operands_, epilog_;
  std::vector<CmdOption> opts_;
  std::vector<std::function<void()>> after_parse_;
};

}  // namespace ninep

#endif  // NINEP_CMDLINE_H_
