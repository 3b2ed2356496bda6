// cmd.h: the pieces of bin/9p shared between its files: the connection
// context every verb runs against, path helpers, error reporting, and the
// verb entry points (one command line's worth of work each).
//
// Verbs return an exit status (0 ok, 1 failure, 2 usage) instead of
// exiting, so session mode can run many of them on one connection.
// Thread-safety: everything here runs on bin/9p's main thread; the lib9p
// client does its own threading underneath.
#ifndef NINEP_CMD_CMD_H_
#define NINEP_CMD_CMD_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ninep/client.h"
#include "ninep/dir.h"
#include "ninep/status.h"

namespace ninep::cmd {

// Exit statuses, as every ninefold command uses them.
inline constexpr int kOk = 0, kFail = 1, kUsage = 2;

// One attached connection: what every verb works on.
struct Ctx {
  Client* client = nullptr;  // null: check arguments only
  Fid* root = nullptr;       // the attach fid; verbs walk from it
  bool dotl = false;         // 9P2000.L was negotiated
  bool in_session = false;   // stdin carries the session script
};

// Prints "9p: what: reason" to stderr and returns kFail.
int Fail(std::string_view what, const Status& s);
// Prints "9p: what: msg" to stderr and returns kFail.
int Fail(std::string_view what, std::string_view msg);
// Prints "usage: 9p ... line" to stderr and returns kUsage.
int Usage(std::string_view line);

// The text to show for an error: its message, or the errno's text.
std::string Reason(const Status& s);

// A user path as the server sees it: leading and repeated slashes dropped,
// "" for the root.
std::string RelPath(std::string_view path);
// Splits a user path into its parent (relative, may be "") and last name;
// false when the path has no last name (the root).
bool SplitPath(std::string_view path, std::string* parent, std::string* name);

// Walks `path` from the root; a failed walk's error reads as the reason
// alone (the caller prints the path).
Result<Fid> WalkTo(Ctx& c, std::string_view path);
// Walks `path` from `from` (which must not be open), errors as WalkTo's.
Result<Fid> WalkFrom(const Fid& from, std::string_view path);
// Walks and opens `path` with a 9P2000 open mode.
Result<Fid> OpenPath(Ctx& c, std::string_view path, uint8_t omode);

// Writes all of data to a stdio-free fd; false on error (errno set).
bool WriteAll(int fd, const void* data, size_t n);

// A verb's flags ("-ld", "-p 644", "-p644", "--"), parsed by ninep/cmdline.h's
// Command: session mode runs verbs many times, so getopt's globals won't do.
class Opts {
 public:
  // args[0] is the verb; `spec` lists flag letters, a ':' after a letter
  // that takes a value.
  Opts(const std::vector<std::string>& args, std::string_view spec);
  // False when an unknown flag or a missing value was seen.
  bool ok() const { return ok_; }
  // True when the flag was given.
  bool Has(char f) const;
  // The flag's value ("" when not given).
  std::string Value(char f) const;
  // The operands after the flags.
  const std::vector<std::string>& rest() const { return rest_; }

 private:
  bool ok_ = true;
  std::vector<std::pair<char, std::string>> flags_;
  std::vector<std::string> rest_;
};

// Each verb's flags in Opts' spelling; main checks them before dialing so a
// usage error costs no connection.
inline constexpr char kLsFlags[] = "ldn", kWriteFlags[] = "a",
                      kCreateFlags[] = "dp:", kMkdirFlags[] = "pm:", kRmFlags[] = "rf",
                      kSessionFlags[] = "e", kNoFlags[] = "";

// The verbs. args[0] is the verb name; each returns an exit status. Called
// with a Ctx whose client is null, a verb only checks its arguments (main
// does so before dialing) and returns kOk or kUsage.
int VerbLs(Ctx& c, const std::vector<std::string>& args);
int VerbStat(Ctx& c, const std::vector<std::string>& args);
int VerbRead(Ctx& c, const std::vector<std::string>& args);
int VerbReadfd(Ctx& c, const std::vector<std::string>& args);
int VerbWrite(Ctx& c, const std::vector<std::string>& args);
int VerbWritefd(Ctx& c, const std::vector<std::string>& args);
int VerbRdwr(Ctx& c, const std::vector<std::string>& args);
int VerbCreate(Ctx& c, const std::vector<std::string>& args);
int VerbMkdir(Ctx& c, const std::vector<std::string>& args);
int VerbRm(Ctx& c, const std::vector<std::string>& args);
int VerbMv(Ctx& c, const std::vector<std::string>& args);
int VerbChmod(Ctx& c, const std::vector<std::string>& args);
int VerbSession(Ctx& c, const std::vector<std::string>& args);

// Runs one verb line (args[0] the verb); unknown verbs are usage errors.
int RunVerb(Ctx& c, const std::vector<std::string>& args);
// The usage text of every verb, one per line, for the global usage message.
const char* VerbUsages();

// Reads the whole file `path` to stdout with several Treads in flight.
int ReadStream(Ctx& c, std::string_view path);
// Copies in_fd to the open fid from `offset` until EOF, keeping several
// Twrites in flight; `serial` forces one at a time (append-only files, where
// the server places each write at the end in arrival order). Adds the bytes
// sent to *written.
Status WritePipelined(Fid& f, uint64_t offset, int in_fd, bool serial, uint64_t* written);

}  // namespace ninep::cmd

#endif  // NINEP_CMD_CMD_H_
