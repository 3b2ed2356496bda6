// nsfile.h: the namespace file of ns(1) and namespace(5): one operation per
// line, parsed into Ops before any is applied, so a bad file changes nothing.
//
//   bind [-abcq] NEW OLD        mount [-abcqL] ADDR OLD [ANAME]
//   unmount [-q] [NEW] OLD      cd DIR      clear      . FILE (include)
//
// Words are split on blanks; '...' quotes as rc does ('' is one quote);
// outside quotes, $NAME and ${NAME} expand from the environment (an unset
// name is an error, so a typo never binds the wrong directory) and # starts
// a comment. Every error says "FILE:LINE: reason".
// Thread-safety: the functions are pure except that they read files.
#ifndef NS_NSFILE_H_
#define NS_NSFILE_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ninep/status.h"

namespace ns {

using ninep::Result;
using ninep::Status;

// One operation of a namespace, with where it came from.
struct Op {
  enum class Kind { kBind, kMount, kUnmount, kCd, kClear };
  Kind kind = Kind::kBind;
  bool after = false;   // -a: a union member after the others
  bool before = false;  // -b: a union member before the others
  bool create = false;  // -c: creates in the union go to this member
  bool quiet = false;   // -q: a failure of this line is not an error
  bool dotl = false;    // -L (mount): 9P2000.L
  // Operands: bind NEW OLD; mount ADDR OLD [ANAME]; unmount [NEW] OLD; cd DIR.
  std::vector<std::string> args;
  std::string file;  // the file it was read from ("-e" for the command line)
  int line = 0;      // its line there (1-based)

  // True for the operations that make or extend a union directory.
  bool Union() const { return after || before; }
  // "FILE:LINE" for messages.
  std::string Where() const { return file + ":" + std::to_string(line); }
};

// Looks a variable up; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;
// The process environment (getenv).
EnvLookup ProcessEnv();

// Splits one line into words (quotes, variables, comments as above).
// EINVAL with the reason (no FILE:LINE) on an unclosed quote or unset name.
Result<std::vector<std::string>> SplitWords(std::string_view line, const EnvLookup& env);

// Builds an Op from a line's words (words[0] is the verb). EINVAL with the
// reason on an unknown verb or flag or a wrong operand count.
Result<Op> ParseOp(const std::vector<std::string>& words);

// Parses one line as given with -e; file and line name it in errors. An
// empty or comment-only line gives no Op.
Result<std::vector<Op>> ParseLine(std::string_view text, const std::string& file, int line,
                                  const EnvLookup& env);

// Parses a namespace file and the files it includes (a relative include
// is found beside the file that names it). Errors: "FILE:LINE: reason";
// an unreadable file "FILE: reason"; an include loop names the chain.
Result<std::vector<Op>> ParseFile(const std::string& path, const EnvLookup& env);

// One line of namespace file that ParseOp reads back as op (words quoted
// where needed; no FILE:LINE).
std::string FormatOp(const Op& op);

// Quotes a word rc-style when it holds blanks, quotes, $, # or is empty.
std::string Quote(std::string_view word);

}  // namespace ns

#endif  // NS_NSFILE_H_
