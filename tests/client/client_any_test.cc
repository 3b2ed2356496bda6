// client_any_test: Client::ConnectAny against real exportfs processes on
// 127.0.0.1: the list is tried in order from `first`, wrapping around; a
// dead address or a failed attach moves on to the next; when all fail the
// error names every address; a malformed list dials nothing.
#include <gtest/gtest.h>
#include <poll.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "ninep/client.h"
#include "testutil.h"

namespace ninep {
namespace {

using testing::FreePort;
using testing::Process;
using testing::TempDir;

// An exportfs serving a temp directory whose file `which` holds `name`, so
// a test can tell which server answered by more than the returned index.
class Server {
 public:
  bool Start(const std::string& name) {
    testing::WriteFile(dir_.path() + "/which", name);
    addr_ = testing::StartServer(&proc_, "exportfs", {"-r", dir_.path()});
    return !addr_.empty();
  }
  const std::string& addr() const { return addr_; }
  const std::string& dir() const { return dir_.path(); }

 private:
  TempDir dir_;
  Process proc_;
  std::string addr_;
};

// A TCP address on 127.0.0.1 that nobody listens on (connection refused).
std::string Dead() { return "tcp!127.0.0.1!" + std::to_string(FreePort()); }

Result<Attached> Any(const std::string& list, size_t first = 0, const std::string& aname = "") {
  struct passwd* pw = getpwuid(geteuid());
  AttachSpec who{pw != nullptr ? pw->pw_name : "root", aname, NONUNAME};
  return Client::ConnectAny(list, ClientOptions(), who, first);
}

// The content of `which` in the attached tree ("" on any failure).
std::string Which(const Attached& a) {
  auto f = a.root.Walk("which");
  if (!f.ok() || !f->Open(OREAD).ok()) return "";
  std::vector<uint8_t> buf(64);
  auto n = f->Read(0, buf);
  return n.ok() ? std::string(buf.begin(), buf.begin() + static_cast<long>(*n)) : "";
}

TEST(ConnectAny, ADeadAddressIsSkipped) {
  Server a;
  ASSERT_TRUE(a.Start("a"));
  auto c = Any(Dead() + "," + a.addr());
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->index, 1u);
  EXPECT_EQ(c->addr, a.addr());
  EXPECT_EQ(Which(*c), "a");
}

TEST(ConnectAny, TriesInOrderFromFirstAndWrapsAround) {
  Server a, b;
  ASSERT_TRUE(a.Start("a"));
  ASSERT_TRUE(b.Start("b"));
  const std::string both = a.addr() + "," + b.addr();
  auto c = Any(both);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->index, 0u);
  EXPECT_EQ(Which(*c), "a");
  c = Any(both, 1);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->index, 1u);
  EXPECT_EQ(Which(*c), "b");
  // `first` past the end is taken modulo the length.
  c = Any(both, 2);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->index, 0u);
  // From the last address, a dead one, the list wraps to the first.
  c = Any(a.addr() + "," + Dead(), 1);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->index, 0u);
  EXPECT_EQ(Which(*c), "a");
}

TEST(ConnectAny, AFailedAttachMovesOn) {
  Server a, b;
  ASSERT_TRUE(a.Start("a"));
  ASSERT_TRUE(b.Start("b"));
  // Only b's tree has the aname's directory: a's attach fails.
  ASSERT_EQ(mkdir((b.dir() + "/sub").c_str(), 0755), 0);
  testing::WriteFile(b.dir() + "/sub/which", "b/sub");
  auto c = Any(a.addr() + "," + b.addr(), 0, "sub");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->index, 1u);
  EXPECT_EQ(Which(*c), "b/sub");
  // In a list, a failed attach is named by its address and the step.
  const std::string dead = Dead();
  c = Any(dead + "," + a.addr(), 0, "sub");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message().find("dial " + dead + ": "), 0u) << c.status().message();
  EXPECT_NE(c.status().message().find("; " + a.addr() + ": attach sub: "), std::string::npos)
      << c.status().message();
  // Alone, it fails as Attach does, naming the step.
  c = Any(a.addr(), 0, "sub");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message().rfind("attach sub: ", 0), 0u) << c.status().message();
}

TEST(ConnectAny, WhenAllFailTheErrorNamesEveryAddress) {
  const std::string d1 = Dead(), d2 = Dead();
  auto c = Any(d1 + "," + d2);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().err(), ECONNREFUSED);
  const std::string m = c.status().message();
  size_t semi = m.find("; ");
  ASSERT_NE(semi, std::string::npos) << m;
  EXPECT_NE(m.substr(0, semi).find(d1), std::string::npos) << m;
  EXPECT_NE(m.substr(semi).find(d2), std::string::npos) << m;
  EXPECT_EQ(m.find("; ", semi + 2), std::string::npos) << m;
  // One address fails exactly as Client::Connect does.
  auto one = Any(d1);
  auto direct = Client::Connect(d1, ClientOptions());
  ASSERT_FALSE(one.ok());
  ASSERT_FALSE(direct.ok());
  EXPECT_EQ(one.status().message(), direct.status().message());
  EXPECT_EQ(one.status().err(), direct.status().err());
}

TEST(ConnectAny, AMalformedEntryFailsBeforeAnyDial) {
  // A listener of our own as the first entry: a dial would queue there.
  int port = 0;
  int ls = testing::ListenLoopback(&port);
  ASSERT_GE(ls, 0);
  auto c = Any("tcp!127.0.0.1!" + std::to_string(port) + ",tcp!!564");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().err(), EINVAL);
  EXPECT_NE(c.status().message().find("tcp!!564"), std::string::npos) << c.status().message();
  pollfd p{ls, POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 0), 0) << "the list was dialled";
  close(ls);
}

}  // namespace
}  // namespace ninep
