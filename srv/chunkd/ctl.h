// ctl.h: the language of chunkd's /ctl file: one command per line, words
// separated by blanks; empty lines and lines starting with # are skipped.
//   scrub   verify every replica's CRCs now
//   sync    fsync the chunks directory
// Parsing is separate from running, so a write with one bad line runs
// nothing, and the parser can be fuzzed alone.
// Thread-safety: pure functions.
#ifndef CHUNKD_CTL_H_
#define CHUNKD_CTL_H_

#include <string_view>
#include <vector>

#include "ninep/status.h"

namespace chunkd {

// One ctl command.
enum class CtlCmd { kScrub, kSync };

// Parses a whole ctl write. EINVAL naming the bad line ("unknown ctl
// command 'x'; want scrub or sync", "scrub takes no arguments") otherwise.
ninep::Result<std::vector<CtlCmd>> ParseCtl(std::string_view text);

}  // namespace chunkd

#endif  // CHUNKD_CTL_H_
