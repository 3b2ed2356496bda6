// tls_session_test.cc: a TlsSession pair in memory (no socket), to pin down
// what the transport relies on: ciphertext lent in place and kept when the
// reader stops early, and records written straight into the output.
#include <cstring>
#include <random>

#include "gtest/gtest.h"
#include "testutil.h"
#include "tls_internal.h"

namespace ninep::testing {
namespace {

using internal::TlsContext;
using internal::TlsSession;

class TlsSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int st = -1;
    std::string out =
        Sh("bash '" NINEP_SOURCE_DIR "/tests/tls/mkcerts.sh' '" + certs_.path() + "' 2>&1", &st);
    ASSERT_EQ(st, 0) << out;
    TlsOptions so, co;
    so.cert = C("server.pem");
    so.key = C("server.key");
    so.ca = C("ca.pem");
    co.cert = C("root.pem");
    co.key = C("root.key");
    co.ca = C("ca.pem");
    auto sctx = TlsContext::ForServer(so);
    ASSERT_TRUE(sctx.ok()) << sctx.status().message();
    auto cctx = TlsContext::ForClient(co);
    ASSERT_TRUE(cctx.ok()) << cctx.status().message();
    server_ = TlsSession::NewServer(*sctx);
    ASSERT_NE(server_, nullptr);
    auto c = TlsSession::NewClient(*cctx, "127.0.0.1");
    ASSERT_TRUE(c.ok()) << c.status().message();
    client_ = std::move(*c);
    // Both handshakes, bytes carried by hand, until neither has more to say.
    for (int i = 0; i < 20 && !(client_->done() && server_->done()); i++) {
      auto ch = client_->Handshake();
      ASSERT_TRUE(ch.ok()) << ch.status().message();
      Carry(client_.get(), server_.get());
      auto sh = server_->Handshake();
      ASSERT_TRUE(sh.ok()) << sh.status().message();
      Carry(server_.get(), client_.get());
    }
    ASSERT_TRUE(client_->done() && server_->done());
    EXPECT_EQ(server_->identity(), "root");
  }
  std::string C(const std::string& f) { return certs_.path() + "/" + f; }
  // Moves what `from` wants sent into `to`.
  static void Carry(TlsSession* from, TlsSession* to) {
    Buffer b = from->TakeOutput();
    to->Feed(b.data(), b.size());
  }
  // msg as the client's records, ready to carry to the server.
  Buffer Sealed(const std::string& msg) {
    EXPECT_TRUE(client_->Write(reinterpret_cast<const uint8_t*>(msg.data()), msg.size()).ok());
    return client_->TakeOutput();
  }
  // Everything `s` can decrypt now.
  static std::string Drain(TlsSession* s) {
    std::string got;
    uint8_t buf[70000];
    for (;;) {
      Status err;
      long n = s->Read(buf, sizeof buf, &err);
      if (n <= 0) {
        EXPECT_EQ(n, 0) << err.message();
        return got;
      }
      got.append(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
    }
  }

  TempDir certs_;
  std::unique_ptr<TlsSession> server_, client_;
};

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 g(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(g());
  return s;
}

// A reader that stops inside the lent bytes (a paused connection) keeps
// the rest: the lender may then overwrite its buffer.
TEST_F(TlsSessionTest, LentBytesNotReadAreKept) {
  std::string msg = RandomBytes(200000, 1);  // 13 records
  ASSERT_TRUE(client_->Write(reinterpret_cast<const uint8_t*>(msg.data()), msg.size()).ok());
  ASSERT_EQ(client_->PendingOutput(), msg.size() + 13 * 22);  // header, type, tag per record
  Buffer wire = client_->TakeOutput();
  EXPECT_EQ(client_->PendingOutput(), 0u);
  std::vector<uint8_t> lent(wire.data(), wire.data() + wire.size());
  server_->Lend(lent.data(), lent.size());
  uint8_t first[1000];
  Status err;
  ASSERT_EQ(server_->Read(first, sizeof first, &err), 1000);
  server_->Keep();
  memset(lent.data(), 0xAA, lent.size());  // the transport's next read
  std::string got(reinterpret_cast<char*>(first), sizeof first);
  got += Drain(server_.get());
  EXPECT_TRUE(got == msg) << got.size() << " bytes back of " << msg.size();
}

// Lent bytes follow fed ones, and a record split over several lends (each
// kept and overwritten) still decrypts, in order.
TEST_F(TlsSessionTest, PiecesInAnyCutArriveInOrder) {
  std::string msg = RandomBytes(100000, 2);
  Buffer wire = Sealed(msg);
  server_->Feed(wire.data(), 7);
  std::string got;
  std::vector<uint8_t> chunk;
  for (size_t off = 7; off < wire.size(); off += 4099) {
    size_t n = std::min<size_t>(4099, wire.size() - off);
    chunk.assign(wire.data() + off, wire.data() + off + n);
    server_->Lend(chunk.data(), n);
    uint8_t one[1];
    Status err;
    if (server_->Read(one, 1, &err) == 1) got.push_back(static_cast<char>(one[0]));
    server_->Keep();
    std::fill(chunk.begin(), chunk.end(), 0x55);
  }
  got += Drain(server_.get());
  EXPECT_TRUE(got == msg) << got.size() << " bytes back of " << msg.size();
}

// A record damaged in flight is an error, never plaintext.
TEST_F(TlsSessionTest, DamagedRecordIsAnError) {
  std::string msg = RandomBytes(5000, 3);
  Buffer wire = Sealed(msg);
  wire.data()[wire.size() / 2] ^= 1;
  server_->Lend(wire.data(), wire.size());
  uint8_t buf[8192];
  Status err;
  EXPECT_EQ(server_->Read(buf, sizeof buf, &err), -1);
  EXPECT_FALSE(err.ok());
  EXPECT_NE(err.message().find("tls"), std::string::npos) << err.message();
}

}  // namespace
}  // namespace ninep::testing
