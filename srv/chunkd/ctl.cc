// ctl.cc: parsing of /ctl writes.
#include "ctl.h"

#include <cerrno>
#include <string>

namespace chunkd {

using ninep::Errno;
using ninep::Result;
using ninep::Status;

namespace {

bool Blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// Printable quoting for error messages: a peer's bytes are not echoed raw.
std::string Quote(std::string_view s) {
  std::string q = "'";
  for (char c : s.substr(0, 64)) q += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (s.size() > 64) q += "...";
  return q + "'";
}

}  // namespace

Result<std::vector<CtlCmd>> ParseCtl(std::string_view text) {
  std::vector<CtlCmd> out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    std::vector<std::string_view> words;
    for (size_t i = 0; i < line.size();) {
      while (i < line.size() && Blank(line[i])) i++;
      size_t j = i;
      while (j < line.size() && !Blank(line[j])) j++;
      if (j > i) words.push_back(line.substr(i, j - i));
      i = j;
    }
    if (words.empty() || words[0][0] == '#') continue;
    CtlCmd c;
    if (words[0] == "scrub")
      c = CtlCmd::kScrub;
    else if (words[0] == "sync")
      c = CtlCmd::kSync;
    else
      return Errno(EINVAL, "unknown ctl command " + Quote(words[0]) + "; want scrub or sync");
    if (words.size() > 1) return Errno(EINVAL, std::string(words[0]) + " takes no arguments");
    out.push_back(c);
  }
  if (out.empty()) return Errno(EINVAL, "empty ctl message; want scrub or sync");
  return out;
}

}  // namespace chunkd
