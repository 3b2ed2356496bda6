// words.h: rc/sh-style words for cmdfs's ctl messages and records.
//
// Split turns one ctl message into words, never through a shell: blanks
// separate words; '...' quotes literally with '' standing for one quote (as
// in rc); "..." quotes with backslash escaping only \ " $ ` and newline (as
// in sh); an unquoted backslash escapes the next character. Quote is the
// inverse for output (wait records, status lines, the audit log).
// Thread-safety: pure functions.
#ifndef NINEFOLD_SRV_CMDFS_WORDS_H_
#define NINEFOLD_SRV_CMDFS_WORDS_H_

#include <string>
#include <string_view>
#include <vector>

#include "ninep/status.h"

namespace cmdfs {

// Splits a message into words. Errors (EINVAL): an unterminated quote, a
// trailing backslash, a NUL byte, an unquoted newline.
ninep::Result<std::vector<std::string>> Split(std::string_view msg);

// Quotes a word so Split gives it back: bare when it is nonempty and made
// only of safe characters, else '...' with quotes doubled ('' for "").
std::string Quote(std::string_view word);

// Quote for one-line records: control characters (newline, tab...) become
// '?' first, so a record never spans lines.
std::string QuoteLine(std::string_view word);

// Quotes each word and joins them with single spaces.
std::string JoinQuoted(const std::vector<std::string>& words);

}  // namespace cmdfs

#endif  // NINEFOLD_SRV_CMDFS_WORDS_H_
