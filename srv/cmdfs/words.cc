// words.cc: the ctl-message tokenizer and its inverse (see words.h).
#include "cmdfs/words.h"

#include <errno.h>

namespace cmdfs {

namespace {

bool Blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

bool Safe(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '_':
    case '-':
    case '.':
    case '/':
    case ':':
    case ',':
    case '+':
    case '=':
    case '@':
    case '%':
    case '!':
      return true;
    default:
      return static_cast<unsigned char>(c) >= 0x80;  // UTF-8 text is left alone
  }
}

ninep::Status Bad(std::string what) { return ninep::Status(EINVAL, std::move(what)); }

}  // namespace

ninep::Result<std::vector<std::string>> Split(std::string_view msg) {
  std::vector<std::string> words;
  std::string cur;
  bool in_word = false;  // a quoted empty string still makes a word
  size_t i = 0;
  while (i < msg.size()) {
    char c = msg[i];
    if (c == '\0') return Bad("NUL byte in ctl message");
    if (Blank(c)) {
      if (in_word) words.push_back(std::move(cur));
      cur.clear();
      in_word = false;
      i++;
      continue;
    }
    if (c == '\n') return Bad("newline in ctl message (one message per write)");
    in_word = true;
    if (c == '\'') {
      // rc: everything literal up to the closing quote; '' is one quote.
      i++;
      for (;;) {
        if (i >= msg.size()) return Bad("unterminated ' quote");
        if (msg[i] == '\0') return Bad("NUL byte in ctl message");
        if (msg[i] == '\'') {
          if (i + 1 < msg.size() && msg[i + 1] == '\'') {
            cur += '\'';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        cur += msg[i++];
      }
    } else if (c == '"') {
      // sh: backslash escapes only what is special inside double quotes.
      i++;
      for (;;) {
        if (i >= msg.size()) return Bad("unterminated \" quote");
        char d = msg[i];
        if (d == '\0') return Bad("NUL byte in ctl message");
        if (d == '"') {
          i++;
          break;
        }
        if (d == '\\' && i + 1 < msg.size()) {
          char e = msg[i + 1];
          if (e == '\\' || e == '"' || e == '$' || e == '`') {
            cur += e;
            i += 2;
            continue;
          }
          if (e == '\n') {
            i += 2;
            continue;
          }
        }
        cur += d;
        i++;
      }
    } else if (c == '\\') {
      if (i + 1 >= msg.size()) return Bad("trailing backslash in ctl message");
      if (msg[i + 1] == '\0') return Bad("NUL byte in ctl message");
      cur += msg[i + 1];
      i += 2;
    } else {
      cur += c;
      i++;
    }
  }
  if (in_word) words.push_back(std::move(cur));
  return words;
}

std::string Quote(std::string_view word) {
  bool bare = !word.empty();
  for (char c : word) {
    if (!Safe(c)) {
      bare = false;
      break;
    }
  }
  if (bare) return std::string(word);
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') out += '\'';
    out += c;
  }
  out += '\'';
  return out;
}

std::string QuoteLine(std::string_view word) {
  std::string clean(word);
  for (char& c : clean) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return Quote(clean);
}

std::string JoinQuoted(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out += ' ';
    out += QuoteLine(w);
  }
  return out;
}

}  // namespace cmdfs
