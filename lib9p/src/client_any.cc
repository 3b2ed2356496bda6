// client_any.cc: Client::ConnectAny, failover over a list of servers that
// serve the same tree (several storefs front ends of one store). The
// clients' -a takes such a list, and mount9p's reconnect goes on from the
// address after the one that died; the list rule lives here alone.
#include <cerrno>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ninep/client.h"
#include "ninep/transport.h"

namespace ninep {
namespace {

// One address's failure, naming the address unless the reason already
// does ("dial tcp!h!1: Connection refused" names it in its own spelling).
std::string Named(std::string_view addr, const Status& s) {
  std::string m = s.message();
  auto a = ParseDial(addr);
  if (m.find(addr) != std::string::npos || (a.ok() && m.find(FormatDial(*a)) != std::string::npos))
    return m;
  return std::string(addr) + ": " + m;
}

}  // namespace

Result<Attached> Client::ConnectAny(std::string_view addrs, const ClientOptions& opts,
                                    const AttachSpec& who, size_t first) {
  auto list = ParseDialList(addrs);
  if (!list.ok()) return list.status();
  const size_t n = list->size();
  std::string why;
  int err = EIO;
  for (size_t k = 0; k < n; k++) {
    const size_t i = (first + k) % n;
    const std::string& addr = (*list)[i];
    Status failed;
    auto c = Connect(addr, opts);
    if (c.ok()) {
      auto root = (*c)->Attach(who.uname, who.aname, who.n_uname);
      if (root.ok()) return Attached{std::move(*c), std::move(*root), i, addr};
      std::string what = who.aname.empty() ? "attach" : "attach " + who.aname;
      failed = Status(root.status().err(), what + ": " + root.status().message());
    } else {
      failed = c.status();
    }
    // One address fails exactly as Connect or Attach does, as it always has.
    if (n == 1) return failed;
    if (!why.empty()) why += "; ";
    why += Named(addr, failed);
    err = failed.err();
  }
  return Status(err, why);
}

}  // namespace ninep
