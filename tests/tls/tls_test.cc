// tls_test.cc: TLS and authentication end to end: real servers on
// tls!127.0.0.1!0 with certificates tests/tls/mkcerts.sh makes, real
// clients (bin/9p, mount9p, our Client). Every refusal the issue lists is
// checked for its one-line client error and its server log line.
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <regex>

#include "gtest/gtest.h"
#include "mount9p/mount_util.h"
#include "ninep/client.h"
#include "ninep/server_cmdline.h"
#include "ninep/transport.h"
#include "testutil.h"

namespace ninep::testing {
namespace {

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    certs_ = new TempDir;
    int st = -1;
    std::string out =
        Sh("bash '" NINEP_SOURCE_DIR "/tests/tls/mkcerts.sh' '" + certs_->path() + "' 2>&1", &st);
    ASSERT_EQ(st, 0) << out;
  }
  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
  }
  // A file mkcerts.sh made.
  static std::string C(const std::string& f) { return certs_->path() + "/" + f; }
  // The server side of mutual TLS with the CRL.
  static std::vector<std::string> ServerTls() {
    return {"--cert", C("server.pem"), "--key", C("server.key"),
            "--ca",   C("ca.pem"),     "--crl", C("crl.pem")};
  }
  // Client flags: certificate NAME.pem, the CA, and -u user.
  static std::string Mutual(const std::string& name, const std::string& user) {
    return "--cert '" + C(name + ".pem") + "' --key '" + C(name + ".key") + "' --ca '" +
           C("ca.pem") + "' -u " + user;
  }

  // Starts bin/NAME -a ADDR ARGS with its stderr in log(); returns the
  // address it printed.
  std::string Start(const std::string& bin, const std::vector<std::string>& args,
                    const std::string& addr = "tls!127.0.0.1!0") {
    log_ = tmp_.path() + "/" + bin + ".log";
    std::string cmd = "exec '" + Bin(bin) + "' -a '" + addr + "'";
    for (const auto& a : args) cmd += " '" + a + "'";
    cmd += " 2>'" + log_ + "'";
    if (!srv_.Start({"/bin/sh", "-c", cmd})) return "";
    if (addr.size() < 2 || addr.substr(addr.size() - 2) != "!0") return "";  // port 0 only
    return srv_.ReadLine(10000);
  }
  // True once the server's log holds s (waits up to ms).
  bool LogHas(const std::string& s, int ms = 5000) {
    return WaitFor([&] { return ReadFile(log_).find(s) != std::string::npos; }, ms);
  }
  std::string Log() { return ReadFile(log_); }
  // Runs bin/9p ARGS (stdin from /dev/null unless `input`); stdout and
  // stderr together.
  static std::string P9(const std::string& args, int* rc, const std::string& input = "") {
    std::string in = input.empty() ? " </dev/null" : "";
    std::string pre = input.empty() ? "" : "printf '%s' '" + input + "' | ";
    return Sh(pre + "'" + Bin("9p") + "' " + args + in + " 2>&1", rc);
  }
  // Expects a refusal: exit 1, one line "9p: ..." holding `want`.
  static void ExpectOneLineError(const std::string& out, int rc, const std::string& want) {
    EXPECT_EQ(rc, 1) << out;
    EXPECT_TRUE(std::regex_match(out, std::regex("9p: [^\n]+\n"))) << out;
    EXPECT_NE(out.find(want), std::string::npos) << out;
  }

  static TempDir* certs_;
  TempDir tmp_;
  Process srv_;
  std::string log_;
};
TempDir* TlsTest::certs_ = nullptr;

// Makes the local user if missing (tests run as root on a fresh machine).
bool EnsureUser(const std::string& name) {
  if (getpwnam(name.c_str()) != nullptr) return true;
  int st = -1;
  Sh("useradd -M -s /usr/sbin/nologin " + name + " 2>&1", &st);
  return getpwnam(name.c_str()) != nullptr;
}

TEST_F(TlsTest, MutualTlsServesBothDialectsWith9p) {
  std::string addr = Start("exportfs", [] {
    auto a = ServerTls();
    a.insert(a.end(), {"-r", "/tmp"});
    return a;
  }());
  ASSERT_EQ(addr.rfind("tls!127.0.0.1!", 0), 0u) << addr << Log();
  std::string name = "ninep-tls-" + std::to_string(getpid());
  for (std::string dialect : {"", "-L"}) {
    SCOPED_TRACE(dialect);
    int rc = -1;
    std::string base = "-a '" + addr + "' " + dialect + " " + Mutual("root", "root") + " ";
    std::string out = P9(base + "write " + name, &rc, "over tls " + dialect);
    ASSERT_EQ(rc, 0) << out;
    out = P9(base + "read " + name, &rc);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(out, "over tls " + dialect);
  }
  unlink(("/tmp/" + name).c_str());
}

// Bulk data crosses record boundaries, reads that end inside a record and
// frames larger than any record, both ways, byte for byte. Also shows the
// suite the server picks: AES-128-GCM (tls.cc says why).
TEST_F(TlsTest, BulkDataSurvivesEveryRecordBoundary) {
  TempDir dir;
  std::string addr = Start("exportfs", [&] {
    auto a = ServerTls();
    a.insert(a.end(), {"-r", dir.path(), "-m", "1m"});
    return a;
  }());
  ASSERT_EQ(addr.rfind("tls!127.0.0.1!", 0), 0u) << addr << Log();
  int rc = -1;
  // 9 MiB and 12,345 bytes: no multiple of a record or of a frame.
  std::string src = tmp_.path() + "/src";
  Sh("head -c 9449001 /dev/urandom >'" + src + "'", &rc);
  ASSERT_EQ(rc, 0);
  for (std::string msize : {"1m", "8k"}) {
    SCOPED_TRACE(msize);
    std::string base = "-a '" + addr + "' -L -m " + msize + " " + Mutual("root", "root") + " ";
    std::string out =
        Sh("'" + Bin("9p") + "' " + base + "write big" + msize + " <'" + src + "' 2>&1", &rc);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_EQ(Sh("cmp '" + src + "' '" + dir.path() + "/big" + msize + "' 2>&1", &rc), "");
    EXPECT_EQ(rc, 0);
    std::string back = tmp_.path() + "/back" + msize;
    out = Sh("'" + Bin("9p") + "' " + base + "read big" + msize + " >'" + back + "' 2>&1", &rc);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_EQ(Sh("cmp '" + src + "' '" + back + "' 2>&1", &rc), "");
    EXPECT_EQ(rc, 0);
  }
  std::string port = addr.substr(addr.rfind('!') + 1);
  std::string out =
      Sh("openssl s_client -connect 127.0.0.1:" + port + " -cert '" + C("root.pem") + "' -key '" +
             C("root.key") + "' -CAfile '" + C("ca.pem") + "' </dev/null 2>&1",
         &rc);
  EXPECT_NE(out.find("Cipher is TLS_AES_128_GCM_SHA256"), std::string::npos) << out;
}

TEST_F(TlsTest, BadCertificatesAreRefusedAtDial) {
  std::string addr = Start("ramfs", ServerTls());
  ASSERT_FALSE(addr.empty()) << Log();
  struct Case {
    std::string client_flags, client_says, log_says;
  };
  const Case cases[] = {
      {Mutual("expired", "nf_alice"), "refused", "certificate has expired"},
      {Mutual("future", "nf_alice"), "refused", "certificate is not yet valid"},
      {Mutual("nf_carol", "nf_carol"), "refused", "certificate revoked"},
      {"--cert '" + C("other.pem") + "' --key '" + C("other.key") + "' --ca '" + C("ca.pem") +
           "' -u nf_alice",
       "refused", "unable to get local issuer certificate"},
      {"--ca '" + C("ca.pem") + "' -u nf_alice", "certificate required",
       "peer did not return a certificate"},
      // Our client trusts another CA: the server's certificate is refused.
      {"--cert '" + C("nf_alice.pem") + "' --key '" + C("nf_alice.key") + "' --ca '" +
           C("other-ca.pem") + "' -u nf_alice",
       "certificate verify failed", "unknown ca"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.client_flags);
    int rc = -1;
    std::string out = P9("-a '" + addr + "' " + c.client_flags + " ls", &rc);
    ExpectOneLineError(out, rc, c.client_says);
    EXPECT_NE(out.find("dial " + addr), std::string::npos) << out;
    EXPECT_TRUE(LogHas("refused: tls handshake: " + std::string())) << Log();
    EXPECT_TRUE(LogHas(c.log_says)) << Log();
  }
}

TEST_F(TlsTest, ServerCertificateMustNameTheAddress) {
  // A certificate from the right CA that names nf_alice, not 127.0.0.1.
  std::string addr = Start("ramfs", {"--cert", C("nf_alice.pem"), "--key", C("nf_alice.key")});
  ASSERT_FALSE(addr.empty()) << Log();
  int rc = -1;
  std::string out = P9("-a '" + addr + "' --ca '" + C("ca.pem") + "' ls", &rc);
  ExpectOneLineError(out, rc, "IP address mismatch");
  EXPECT_TRUE(LogHas("refused: tls handshake")) << Log();
}

TEST_F(TlsTest, UnameMustBeTheCertificateIdentity) {
  std::string addr = Start("ramfs", ServerTls());
  ASSERT_FALSE(addr.empty()) << Log();
  int rc = -1;
  std::string out = P9("-a '" + addr + "' " + Mutual("nf_alice", "nf_bob") + " ls", &rc);
  ExpectOneLineError(out, rc, "attach as nf_bob refused: the TLS peer is nf_alice");
  EXPECT_TRUE(LogHas("refused Tattach: attach as nf_bob refused")) << Log();
  // The same certificate attaching as itself is served; so is a
  // certificate naming its user only by a DNS subjectAltName.
  out = P9("-a '" + addr + "' " + Mutual("nf_alice", "nf_alice") + " ls", &rc);
  EXPECT_EQ(rc, 0) << out;
  out = P9("-a '" + addr + "' " + Mutual("san", "nf_alice") + " -L ls", &rc);
  EXPECT_EQ(rc, 0) << out;
}

TEST_F(TlsTest, AllowListDecidesWhoAttaches) {
  auto args = ServerTls();
  args.insert(args.end(), {"--allow", "nf_bob,root"});
  std::string addr = Start("ramfs", args);
  ASSERT_FALSE(addr.empty()) << Log();
  int rc = -1;
  std::string out = P9("-a '" + addr + "' " + Mutual("nf_alice", "nf_alice") + " ls", &rc);
  ExpectOneLineError(out, rc, "not in the server's --allow list");
  EXPECT_TRUE(LogHas("attach as nf_alice refused: not in the server's --allow list")) << Log();
  out = P9("-a '" + addr + "' " + Mutual("nf_bob", "nf_bob") + " ls", &rc);
  EXPECT_EQ(rc, 0) << out;
}

TEST_F(TlsTest, ReadonlyUserMayReadButNotChange) {
  auto args = ServerTls();
  args.insert(args.end(), {"--readonly", "nf_alice"});
  std::string addr = Start("ramfs", args);
  ASSERT_FALSE(addr.empty()) << Log();
  int rc = -1;
  std::string bob = "-a '" + addr + "' " + Mutual("nf_bob", "nf_bob") + " ";
  std::string alice = "-a '" + addr + "' " + Mutual("nf_alice", "nf_alice") + " ";
  std::string out = P9(bob + "write notes", &rc, "bobs");
  ASSERT_EQ(rc, 0) << out;
  for (std::string dialect : {"", "-L "}) {
    SCOPED_TRACE(dialect);
    // 9P2000.L carries only the errno (EROFS), 9P2000 the message.
    const std::string ro = dialect.empty() ? "may only read" : "read-only file system";
    out = P9(alice + dialect + "read notes", &rc);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(out, "bobs");
    out = P9(alice + dialect + "write notes", &rc, "alices");
    ExpectOneLineError(out, rc, ro);
    out = P9(alice + dialect + "rm notes", &rc);
    ExpectOneLineError(out, rc, ro);
    out = P9(alice + dialect + "mkdir d", &rc);
    ExpectOneLineError(out, rc, ro);
  }
  EXPECT_TRUE(LogHas("user nf_alice may only read here (--readonly)")) << Log();
  out = P9(bob + "read notes", &rc);
  EXPECT_EQ(out, "bobs");  // nothing changed
}

TEST_F(TlsTest, PlainClientOnATlsPortIsToldSo) {
  std::string addr = Start("ramfs", ServerTls());
  ASSERT_FALSE(addr.empty()) << Log();
  std::string plain = "tcp" + addr.substr(3);
  for (std::string dialect : {"", "-L "}) {
    int rc = -1;
    std::string out = P9("-a '" + plain + "' " + dialect + "ls", &rc);
    ExpectOneLineError(out, rc, "this server speaks TLS here");
  }
  EXPECT_TRUE(LogHas("(a plain 9P client)")) << Log();
}

TEST_F(TlsTest, TlsClientOnAPlainPortIsToldSo) {
  std::string addr = Start("ramfs", {}, "tcp!127.0.0.1!0");
  ASSERT_FALSE(addr.empty()) << Log();
  int rc = -1;
  std::string out = P9("-a 'tls" + addr.substr(3) + "' " + Mutual("root", "root") + " ls", &rc);
  ExpectOneLineError(out, rc, "is it a plain 9P port?");
  EXPECT_TRUE(LogHas("a TLS client (peer tcp!127.0.0.1!")) << Log();
}

TEST_F(TlsTest, PreSharedKey) {
  // A shared key ("KEY"), and a key bound to one user ("nf_bob KEY").
  std::string bobkey = tmp_.path() + "/bob.psk";
  Sh("echo nf_bob $(cat '" + C("wrong-psk.txt") + "') > '" + bobkey + "'");
  std::string table = tmp_.path() + "/server.psk";
  Sh("cat '" + C("psk.txt") + "' '" + bobkey + "' > '" + table + "'");
  std::string addr = Start("ramfs", {"--psk", table});
  ASSERT_FALSE(addr.empty()) << Log();
  int rc = -1;
  std::string out = P9("-a '" + addr + "' --psk '" + C("psk.txt") + "' -u nf_alice ls", &rc);
  EXPECT_EQ(rc, 0) << out;
  out = P9("-a '" + addr + "' --psk '" + bobkey + "' -u nf_bob -L ls", &rc);
  EXPECT_EQ(rc, 0) << out;
  // Bob's key proves nf_bob, so it cannot attach as anyone else.
  out = P9("-a '" + addr + "' --psk '" + bobkey + "' -u root ls", &rc);
  ExpectOneLineError(out, rc, "the TLS peer is nf_bob");
  // A key the server does not hold.
  std::string wrong = tmp_.path() + "/wrong.psk";
  Sh("openssl rand -hex 32 > '" + wrong + "'");
  out = P9("-a '" + addr + "' --psk '" + wrong + "' -u nf_alice ls", &rc);
  ExpectOneLineError(out, rc, "tls handshake");
  EXPECT_TRUE(LogHas("binder does not verify")) << Log();
  // The environment is the client's fallback.
  out = Sh("NINEP_PSK='" + C("psk.txt") + "' '" + Bin("9p") + "' -a '" + addr + "' ls 2>&1", &rc);
  EXPECT_EQ(rc, 0) << out;
}

TEST_F(TlsTest, StalledHandshakeHoldsNobodyUp) {
  std::string addr = Start("ramfs", ServerTls());
  ASSERT_FALSE(addr.empty()) << Log();
  int port = std::stoi(addr.substr(addr.rfind('!') + 1));
  // A client that sends half a ClientHello record and then nothing.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  const uint8_t half[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03};
  ASSERT_EQ(write(fd, half, sizeof half), static_cast<ssize_t>(sizeof half));
  // Others are served meanwhile, in both dialects.
  for (std::string dialect : {"", "-L "}) {
    int rc = -1;
    std::string out = P9("-a '" + addr + "' " + dialect + Mutual("root", "root") + " ls", &rc);
    EXPECT_EQ(rc, 0) << out;
  }
  // The stalled one is dropped with a log line once its time is up.
  EXPECT_TRUE(LogHas("refused: tls handshake: timed out", 20000)) << Log();
  char b;
  EXPECT_EQ(read(fd, &b, 1), 0);  // closed
  close(fd);
}

TEST(TlsExposure, NonLoopbackNeedsClientAuthentication) {
  auto check = [](const std::string& addr, const ServerFlags& f) {
    auto d = ParseDial(addr);
    EXPECT_TRUE(d.ok()) << addr;
    return CheckExposure(f, *d);
  };
  ServerFlags f;
  EXPECT_TRUE(check("tcp!127.0.0.1!564", f).ok());
  EXPECT_TRUE(check("tls!localhost!564", f).ok());
  EXPECT_TRUE(check("unix!/tmp/x", f).ok());
  Status s = check("tcp!0.0.0.0!564", f);
  EXPECT_EQ(s.err(), EACCES);
  EXPECT_NE(s.message().find("--insecure"), std::string::npos) << s.message();
  f.tls.cert = "c";
  EXPECT_FALSE(check("tls!*!564", f).ok());  // TLS, but anyone may connect
  f.tls.ca = "ca";
  EXPECT_TRUE(check("tls!*!564", f).ok());
  EXPECT_FALSE(check("tcp!*!564", f).ok());  // the CA is for tls! only
  f.tls = {};
  f.tls.psk = "k";
  EXPECT_TRUE(check("tls!0.0.0.0!564", f).ok());
  f.tls = {};
  f.insecure = true;
  EXPECT_TRUE(check("tcp!0.0.0.0!564", f).ok());
}

TEST(TlsExposure, EveryServerRefusesAnOpenListenerInOneLine) {
  for (const char* bin : {"ramfs", "exportfs", "cmdfs"}) {
    int rc = -1;
    std::string out = Sh("'" + Bin(bin) + "' -a 'tcp!0.0.0.0!0' 2>&1 </dev/null", &rc);
    EXPECT_EQ(rc, 1) << bin << ": " << out;
    EXPECT_TRUE(std::regex_match(
        out, std::regex(std::string(bin) + ": listen tcp!0.0.0.0!0: refusing to listen beyond "
                                           "loopback[^\n]+\n")))
        << out;
  }
}

TEST(TlsDial, ParsesTlsAddresses) {
  auto a = ParseDial("tls!localhost!5640");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->tls);
  EXPECT_EQ(a->kind, DialAddr::kTcp);
  EXPECT_EQ(FormatDial(*a), "tls!localhost!5640");
  a = ParseDial("tls!unix!/tmp/s");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->tls);
  EXPECT_EQ(a->kind, DialAddr::kUnix);
  EXPECT_EQ(FormatDial(*a), "tls!unix!/tmp/s");
  EXPECT_FALSE(ParseDial("tls!").ok());
}

TEST_F(TlsTest, UnixSocketsCarryTlsToo) {
  std::string sock = tmp_.path() + "/s";
  std::string addr = Start("ramfs", ServerTls(), "tls!unix!" + sock);
  EXPECT_EQ(addr, "");  // not tcp port 0: nothing printed
  ASSERT_TRUE(WaitFor([&] { return access(sock.c_str(), F_OK) == 0; }, 10000)) << Log();
  int rc = -1;
  std::string out = P9("-a 'tls!unix!" + sock + "' " + Mutual("root", "root") + " ls", &rc);
  EXPECT_EQ(rc, 0) << out;
  out = P9("-a 'unix!" + sock + "' ls", &rc);
  ExpectOneLineError(out, rc, "this server speaks TLS here");
}

TEST_F(TlsTest, CmdfsRunsCommandsAsTheMappedUser) {
  if (geteuid() != 0) FAIL() << "needs root to act as another user";
  ASSERT_TRUE(EnsureUser("nf_alice"));
  std::string addr = Start("cmdfs", ServerTls());
  ASSERT_FALSE(addr.empty()) << Log();
  ClientOptions o;
  o.tls.cert = C("nf_alice.pem");
  o.tls.key = C("nf_alice.key");
  o.tls.ca = C("ca.pem");
  o.call_timeout = std::chrono::seconds(30);
  auto c = Client::Connect(addr, o);
  ASSERT_TRUE(c.ok()) << c.status().message();
  auto root = (*c)->Attach("nf_alice", "");
  ASSERT_TRUE(root.ok()) << root.status().message();
  auto ctl = root->Walk("clone");
  ASSERT_TRUE(ctl.ok()) << ctl.status().message();
  ASSERT_TRUE(ctl->Open(ORDWR).ok());
  uint8_t buf[256];
  auto n = ctl->ReadOnce(0, buf);
  ASSERT_TRUE(n.ok()) << n.status().message();
  std::string num(reinterpret_cast<char*>(buf), *n);
  while (!num.empty() && num.back() == '\n') num.pop_back();
  std::string cmd = "exec id -un";
  auto w = ctl->Write(0, std::span(reinterpret_cast<const uint8_t*>(cmd.data()), cmd.size()));
  ASSERT_TRUE(w.ok()) << w.status().message();
  auto data = root->Walk(num + "/data");
  ASSERT_TRUE(data.ok()) << data.status().message();
  ASSERT_TRUE(data->Open(OREAD).ok());
  std::string got;
  for (uint64_t off = 0;;) {
    auto r = data->ReadOnce(off, buf);
    ASSERT_TRUE(r.ok()) << r.status().message();
    if (*r == 0) break;
    got.append(reinterpret_cast<char*>(buf), *r);
    off += *r;
  }
  EXPECT_EQ(got, "nf_alice\n");
}

TEST_F(TlsTest, Mount9pOverMutualTls) {
  if (access("/dev/fuse", R_OK | W_OK) != 0) FAIL() << "no /dev/fuse";
  TempDir dir;
  WriteFile(dir.path() + "/hello", "hello over tls\n");
  auto args = ServerTls();
  args.insert(args.end(), {"-r", dir.path()});
  std::string addr = Start("exportfs", args);
  ASSERT_FALSE(addr.empty()) << Log();
  for (std::vector<std::string> dialect : {std::vector<std::string>{}, {"-L"}}) {
    Mount m;
    std::vector<std::string> margs{"--cert", C("root.pem"), "--key", C("root.key"),
                                   "--ca",   C("ca.pem"),   "-u",    "root"};
    margs.insert(margs.end(), dialect.begin(), dialect.end());
    ASSERT_TRUE(m.Start(addr, margs)) << Log();
    EXPECT_EQ(ReadFile(m.path() + "/hello"), "hello over tls\n");
    WriteFile(m.path() + "/back" + std::to_string(dialect.size()), "written\n");
    EXPECT_EQ(ReadFile(dir.path() + "/back" + std::to_string(dialect.size())), "written\n");
  }
  // A mount with a refused certificate fails and says why.
  int rc = -1;
  std::string out = Sh("'" + Bin("mount9p") + "' -f --cert '" + C("expired.pem") + "' --key '" +
                           C("expired.key") + "' --ca '" + C("ca.pem") + "' '" + addr + "' '" +
                           dir.path() + "' 2>&1",
                       &rc);
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("certificate expired"), std::string::npos) << out;
}

}  // namespace
}  // namespace ninep::testing
