// server_test.cc: the server framework's own rules, checked with raw frames
// over a real TCP socket against an in-process Server running a small file
// server: version negotiation, fid and tag checks, Tflush of a pending
// request, Tversion reset, answers from worker threads, malformed frames, and
// the 9P2000.L calls the framework builds from base calls.
#include "ninep/server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "conformance/raw9p.h"
#include "gtest/gtest.h"
#include "ninep/transport.h"
#include "ninep/wire.h"

namespace ninep {
namespace {

using testing::M;
using testing::RawConn;
using testing::RawReply;

std::atomic<int> g_live_nodes{0};

// A node of the test tree; counts live instances so tests can see fids die.
struct Node {
  explicit Node(std::string n, bool d) : name(std::move(n)), dir(d) { g_live_nodes++; }
  ~Node() { g_live_nodes--; }
  std::string name;
  bool dir;
  uint64_t path = 0;
};

// A flat file server: "/" holds files; "slow" answers reads from a worker
// thread once the test calls ReleaseSlow (or after 10 s, so a broken server
// fails the test rather than hanging it); "block" answers reads only when
// flushed.
class TestFs : public FileServer {
 public:
  void Started(Server* s) override { srv_ = s; }

  void Attach(AttachReq r) override {
    auto n = std::make_shared<Node>("/", true);
    r.fid->aux = n;
    r.Respond(Qid{QTDIR, 0, 1});
  }
  void Walk(WalkReq r) override {
    std::vector<Qid> qids;
    std::shared_ptr<Node> cur = std::static_pointer_cast<Node>(r.fid->aux);
    for (auto name : r.names) {
      if (name == "..") {
        cur = std::make_shared<Node>("/", true);
        qids.push_back(Qid{QTDIR, 0, 1});
        continue;
      }
      std::lock_guard<std::mutex> l(mu_);
      auto it = files_.find(std::string(name));
      if (!cur->dir || it == files_.end()) break;
      cur = std::make_shared<Node>(it->first, it->second.dir);
      cur->path = it->second.path;
      qids.push_back(Qid{static_cast<uint8_t>(it->second.dir ? QTDIR : QTFILE), 0, cur->path});
    }
    if (qids.empty() && r.names.size() > 0) return r.Fail(Status(ENOENT, "file does not exist"));
    r.newfid->aux = cur;
    r.Respond(qids);
  }
  void Stat(StatReq r) override {
    auto n = r.fid->Aux<Node>();
    Dir d;
    d.qid = r.fid->qid;
    d.name = n->name;
    d.mode = n->dir ? (DMDIR | 0755) : 0644;
    d.uid = d.gid = d.muid = "test";
    if (n->name == "bigstat") d.muid = std::string(1000, 'm');  // an Rstat over 1 KiB
    {
      std::lock_guard<std::mutex> l(mu_);
      auto it = files_.find(n->name);
      if (it != files_.end()) d.length = it->second.data.size();
    }
    r.Respond(d);
  }
  void Open(OpenReq r) override {
    // An error text longer than any small msize, with a two-byte UTF-8
    // character across the cut at 247 bytes that msize 256 makes (an Rerror
    // frame is 9 bytes plus its text).
    if (r.fid->Aux<Node>()->name == "longerr")
      return r.Fail(Status(EACCES, std::string(246, 'x') + "\u00e9" + std::string(2000, 'y')));
    r.Respond(OpenOut{r.fid->qid, 0});
  }
  void Read(ReadReq r) override {
    auto n = r.fid->Aux<Node>();
    if (n->name == "block") {
      auto p = std::make_shared<ReadReq>(std::move(r));
      p->OnFlush([p] { p->Fail(Status(ECANCELED, "interrupted")); });
      return;
    }
    if (n->name == "slow") {
      auto p = std::make_shared<ReadReq>(std::move(r));
      srv_->Offload([this, p] {
        {
          std::unique_lock<std::mutex> l(slow_mu_);
          slow_cv_.wait_for(l, std::chrono::seconds(10), [this] { return slow_released_; });
        }
        memcpy(p->buf.data(), "slow", 4);
        p->Respond(4);
      });
      return;
    }
    std::lock_guard<std::mutex> l(mu_);
    auto& data = files_[n->name].data;
    if (r.offset >= data.size()) return r.Respond(0);
    size_t k = std::min<size_t>(r.buf.size(), data.size() - r.offset);
    memcpy(r.buf.data(), data.data() + r.offset, k);
    r.Respond(static_cast<uint32_t>(k));
  }
  void Write(WriteReq r) override {
    auto n = r.fid->Aux<Node>();
    std::lock_guard<std::mutex> l(mu_);
    auto& data = files_[n->name].data;
    if (data.size() < r.offset + r.data.size()) data.resize(r.offset + r.data.size());
    memcpy(data.data() + r.offset, r.data.data(), r.data.size());
    r.Respond(static_cast<uint32_t>(r.data.size()));
  }
  void ReadDir(ReadDirReq r) override {
    std::vector<DirEntry> out;
    std::lock_guard<std::mutex> l(mu_);
    uint64_t i = 0;
    for (auto& [name, f] : files_) {
      i++;
      if (i <= r.cookie) continue;
      DirEntry e;
      e.dir.name = name;
      e.dir.qid = Qid{static_cast<uint8_t>(f.dir ? QTDIR : QTFILE), 0, f.path};
      e.dir.mode = f.dir ? (DMDIR | 0755) : 0644;
      e.dir.uid = e.dir.gid = e.dir.muid = "test";
      e.next = i;
      out.push_back(e);
    }
    r.Respond(out);
  }
  void Create(CreateReq r) override {
    std::lock_guard<std::mutex> l(mu_);
    std::string name(r.name);
    if (files_.count(name)) return r.Fail(Status(EEXIST, "file already exists"));
    auto& f = files_[name];
    f.dir = (r.perm & DMDIR) != 0;
    f.path = next_path_++;
    auto n = std::make_shared<Node>(name, f.dir);
    n->path = f.path;
    r.fid->aux = n;
    r.Respond(OpenOut{Qid{static_cast<uint8_t>(f.dir ? QTDIR : QTFILE), 0, f.path}, 0});
  }
  void Remove(RemoveReq r) override {
    std::lock_guard<std::mutex> l(mu_);
    if (files_.erase(r.fid->Aux<Node>()->name) == 0) return r.Fail(Status(ENOENT, "gone"));
    r.Respond(Empty{});
  }
  void Wstat(WstatReq r) override {
    std::lock_guard<std::mutex> l(mu_);
    auto n = r.fid->Aux<Node>();
    if (!r.d.name.empty()) {
      auto node = files_.extract(n->name);
      if (node.empty()) return r.Fail(Status(ENOENT, "gone"));
      node.key() = std::string(r.d.name);
      files_.insert(std::move(node));
    }
    r.Respond(Empty{});
  }

  // Adds a file with content.
  void Put(const std::string& name, const std::string& data) {
    std::lock_guard<std::mutex> l(mu_);
    files_[name] = File{false, next_path_++, data};
  }
  bool Has(const std::string& name) {
    std::lock_guard<std::mutex> l(mu_);
    return files_.count(name) > 0;
  }
  // Lets reads of "slow" answer.
  void ReleaseSlow() {
    std::lock_guard<std::mutex> l(slow_mu_);
    slow_released_ = true;
    slow_cv_.notify_all();
  }

 private:
  struct File {
    bool dir = false;
    uint64_t path = 0;
    std::string data;
  };
  Server* srv_ = nullptr;
  std::mutex mu_;
  std::map<std::string, File> files_;
  uint64_t next_path_ = 100;
  std::mutex slow_mu_;
  std::condition_variable slow_cv_;
  bool slow_released_ = false;
};

// A server on its own thread plus a raw-frame client socket.
class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs_.Put("hello", "hello, world\n");
    fs_.Put("slow", "");
    fs_.Put("block", "");
    ServerOptions o;
    o.max_msize = 64 * 1024;
    srv_ = std::make_unique<Server>(&fs_, o);
    auto a = srv_->Listen("tcp!127.0.0.1!0");
    ASSERT_TRUE(a.ok()) << a.status().message();
    addr_ = *a;
    thread_ = std::thread([this] { srv_->Run(); });
    ASSERT_TRUE(c_.Connect(addr_).ok());
  }
  void TearDown() override {
    c_.Close();
    srv_->Stop();
    thread_.join();
    srv_.reset();
  }

  void SendRaw(const std::vector<uint8_t>& b) { ASSERT_TRUE(c_.SendBytes(b).ok()); }
  void Send(uint16_t tag, Body body, RawConn* c = nullptr) {
    ASSERT_TRUE((c ? c : &c_)->Send(M(tag, std::move(body))).ok());
  }
  // Reads one reply; its views stay valid until the next Recv.
  Message Recv(RawConn* c = nullptr) {
    Result<RawReply> r = (c ? c : &c_)->Recv();
    EXPECT_TRUE(r.ok()) << r.status().message();
    if (!r.ok()) return Message{};
    last_ = std::move(*r);
    return last_.msg;
  }
  Message Rpc(uint16_t tag, Body body) {
    Send(tag, std::move(body));
    return Recv();
  }
  void Version(std::string_view v) {
    c_.dialect = Dialect::k9P2000;
    Result<RawReply> r = c_.Version(8192, v);
    ASSERT_TRUE(r.ok()) << r.status().message();
    ASSERT_EQ(kRversion, r->type());
  }
  void AttachRoot(uint32_t fid = 0) {
    Message r = Rpc(1, Tattach{fid, NOFID, "glenda", ""});
    ASSERT_EQ(kRattach, r.type()) << FormatMessage(r);
  }
  Message WalkTo(uint32_t fid, uint32_t newfid, const std::vector<std::string_view>& names) {
    Twalk w{fid, newfid, {}};
    for (auto n : names) w.wname.push_back(n);
    return Rpc(2, w);
  }
  std::string ErrorOf(const Message& m) {
    if (m.type() == kRerror) return std::string(std::get<Rerror>(m.body).ename);
    if (m.type() == kRlerror) return "errno " + std::to_string(std::get<Rlerror>(m.body).ecode);
    return "not an error: " + FormatMessage(m);
  }

  TestFs fs_;
  std::unique_ptr<Server> srv_;
  std::thread thread_;
  std::string addr_;
  RawConn c_;
  RawReply last_;  // the frame of the last Recv
};

TEST_F(ServerTest, VersionNegotiation) {
  Message r = Rpc(NOTAG, Tversion{1 << 20, "9P2000"});
  ASSERT_EQ(kRversion, r.type());
  EXPECT_EQ(64u * 1024, std::get<Rversion>(r.body).msize);  // clamped to the server's max
  EXPECT_EQ("9P2000", std::get<Rversion>(r.body).version);
  r = Rpc(NOTAG, Tversion{8192, "9P2000.u"});
  EXPECT_EQ("9P2000", std::get<Rversion>(r.body).version);
  EXPECT_EQ(8192u, std::get<Rversion>(r.body).msize);
  r = Rpc(NOTAG, Tversion{8192, "9P2000.L"});
  EXPECT_EQ("9P2000.L", std::get<Rversion>(r.body).version);
  r = Rpc(NOTAG, Tversion{8192, "9P1999"});
  EXPECT_EQ("unknown", std::get<Rversion>(r.body).version);
  // Without a known version nothing else is served.
  r = Rpc(1, Tattach{0, NOFID, "glenda", ""});
  EXPECT_EQ(kRerror, r.type());
}

TEST_F(ServerTest, RequestsBeforeVersionFail) {
  Message r = Rpc(1, Tattach{0, NOFID, "glenda", ""});
  EXPECT_EQ(kRerror, r.type());
  EXPECT_EQ("version not negotiated", ErrorOf(r));
}

TEST_F(ServerTest, FidChecks) {
  Version("9P2000");
  AttachRoot(0);
  // Attach to a fid in use.
  Message r = Rpc(1, Tattach{0, NOFID, "glenda", ""});
  EXPECT_EQ("fid in use", ErrorOf(r));
  // Unknown fid.
  r = Rpc(3, Tstat{42});
  EXPECT_EQ("unknown fid", ErrorOf(r));
  // Walk to a newfid in use.
  ASSERT_EQ(kRwalk, WalkTo(0, 1, {"hello"}).type());
  EXPECT_EQ("fid in use", ErrorOf(WalkTo(0, 1, {"hello"})));
  // Read before open.
  r = Rpc(3, Tread{1, 0, 100});
  EXPECT_EQ("fid not open for reading", ErrorOf(r));
  // Walk from a file.
  EXPECT_EQ("walk in non-directory", ErrorOf(WalkTo(1, 2, {"x"})));
  // Open twice.
  ASSERT_EQ(kRopen, Rpc(3, Topen{1, OREAD}).type());
  EXPECT_EQ("fid already open", ErrorOf(Rpc(3, Topen{1, OREAD})));
  // Write on a fid opened for reading.
  uint8_t b[1] = {'x'};
  EXPECT_EQ("fid not open for writing", ErrorOf(Rpc(3, Twrite{1, 0, b})));
  // Walk (clone) of an open fid.
  EXPECT_EQ("cannot clone open fid", ErrorOf(WalkTo(1, 5, {})));
  // Clunk frees the fid; a second clunk fails.
  EXPECT_EQ(kRclunk, Rpc(3, Tclunk{1}).type());
  EXPECT_EQ("unknown fid", ErrorOf(Rpc(3, Tclunk{1})));
  // Opening a directory for writing.
  ASSERT_EQ(kRwalk, WalkTo(0, 6, {}).type());
  EXPECT_EQ("is a directory", ErrorOf(Rpc(3, Topen{6, OWRITE})));
}

TEST_F(ServerTest, WalkPartialCreatesNoFid) {
  Version("9P2000");
  AttachRoot(0);
  Message r = WalkTo(0, 1, {"hello", "nope"});
  // "hello" is a file, so the second step fails: one qid, no newfid.
  ASSERT_EQ(kRwalk, r.type());
  EXPECT_EQ(1u, std::get<Rwalk>(r.body).wqid.size());
  EXPECT_EQ("unknown fid", ErrorOf(Rpc(3, Tstat{1})));
  // First name fails: an error.
  EXPECT_EQ("file does not exist", ErrorOf(WalkTo(0, 1, {"nope"})));
  // Names with a slash never reach the file server.
  EXPECT_EQ("bad name in walk", ErrorOf(WalkTo(0, 1, {"a/b"})));
  // newfid == fid on a full walk replaces the fid.
  ASSERT_EQ(kRwalk, WalkTo(0, 2, {}).type());
  ASSERT_EQ(kRwalk, WalkTo(2, 2, {"hello"}).type());
  r = Rpc(3, Tstat{2});
  ASSERT_EQ(kRstat, r.type());
  EXPECT_EQ("hello", std::get<Rstat>(r.body).stat.name);
}

// Every answer fits the negotiated msize, errors too (a client drops a
// larger frame and the connection with it): a long Rerror text is cut on a
// character boundary, and a reply too large becomes an EMSGSIZE error.
TEST_F(ServerTest, AnswersFitTheMsize) {
  fs_.Put("longerr", "");
  fs_.Put("bigstat", "");
  Message r = Rpc(NOTAG, Tversion{MINMSIZE, "9P2000"});
  ASSERT_EQ(MINMSIZE, std::get<Rversion>(r.body).msize);
  AttachRoot();
  ASSERT_EQ(kRwalk, WalkTo(0, 1, {"longerr"}).type());
  r = Rpc(3, Topen{1, OREAD});
  EXPECT_LE(last_.frame->size(), MINMSIZE);
  std::string text = ErrorOf(r);
  EXPECT_EQ(text, std::string(246, 'x')) << "cut before the split character";
  ASSERT_EQ(kRwalk, WalkTo(0, 2, {"bigstat"}).type());
  r = Rpc(4, Tstat{2});
  EXPECT_LE(last_.frame->size(), MINMSIZE);
  EXPECT_NE(ErrorOf(r).find("exceeds msize"), std::string::npos) << ErrorOf(r);
  // The session goes on.
  EXPECT_EQ(kRclunk, Rpc(5, Tclunk{1}).type());
}

TEST_F(ServerTest, ReadClampsCountToMsize) {
  Version("9P2000");
  AttachRoot(0);
  ASSERT_EQ(kRwalk, WalkTo(0, 1, {"hello"}).type());
  ASSERT_EQ(kRopen, Rpc(3, Topen{1, OREAD}).type());
  Message r = Rpc(4, Tread{1, 0, 0xFFFFFFFF});
  ASSERT_EQ(kRread, r.type());
  auto data = std::get<Rread>(r.body).data;
  EXPECT_EQ("hello, world\n", std::string(data.begin(), data.end()));
  r = Rpc(4, Tread{1, 7, 5});
  data = std::get<Rread>(r.body).data;
  EXPECT_EQ("world", std::string(data.begin(), data.end()));
}

TEST_F(ServerTest, AnswerFromWorkerThread) {
  Version("9P2000");
  AttachRoot(0);
  ASSERT_EQ(kRwalk, WalkTo(0, 1, {"slow"}).type());
  ASSERT_EQ(kRopen, Rpc(3, Topen{1, OREAD}).type());
  ASSERT_EQ(kRwalk, WalkTo(0, 2, {"hello"}).type());
  // A slow read and a stat in flight together: the stat is answered while
  // the read still waits on its worker, and the read answers when let go.
  Send(10, Tread{1, 0, 100});
  Send(11, Tstat{2});
  Message a = Recv();
  EXPECT_EQ(11, a.tag);
  EXPECT_EQ(kRstat, a.type());
  fs_.ReleaseSlow();
  Message b = Recv();
  EXPECT_EQ(10, b.tag);
  auto data = std::get<Rread>(b.body).data;
  EXPECT_EQ("slow", std::string(data.begin(), data.end()));
}

TEST_F(ServerTest, FlushOfPendingRequest) {
  Version("9P2000");
  AttachRoot(0);
  ASSERT_EQ(kRwalk, WalkTo(0, 1, {"block"}).type());
  ASSERT_EQ(kRopen, Rpc(3, Topen{1, OREAD}).type());
  Send(20, Tread{1, 0, 100});
  // A duplicate tag while 20 is pending is refused.
  Message d = Rpc(20, Tstat{0});
  EXPECT_EQ("duplicate tag", ErrorOf(d));
  Send(21, Tflush{20});
  // The read's answer (if any) comes before Rflush; Rflush comes last.
  Message m = Recv();
  if (m.tag == 20) {
    EXPECT_EQ(kRerror, m.type());
    m = Recv();
  }
  EXPECT_EQ(21, m.tag);
  EXPECT_EQ(kRflush, m.type());
  // The tag is free again.
  EXPECT_EQ(kRstat, Rpc(20, Tstat{0}).type());
  // Flush of a tag not in flight is answered at once.
  EXPECT_EQ(kRflush, Rpc(22, Tflush{999}).type());
}

TEST_F(ServerTest, FlushOfPendingFlushIsAnswered) {
  // Found by fuzz_server_session: a Tflush of a Tflush that was itself
  // waiting on a request was never answered, and its tag stayed in use.
  Version("9P2000");
  AttachRoot(0);
  ASSERT_EQ(kRwalk, WalkTo(0, 1, {"slow"}).type());
  ASSERT_EQ(kRopen, Rpc(3, Topen{1, OREAD}).type());
  // One write: the server reads the three before the slow read ends.
  std::vector<uint8_t> b;
  for (const Message& m :
       {Message{20, Tread{1, 0, 100}}, Message{21, Tflush{20}}, Message{22, Tflush{21}}})
    ASSERT_TRUE(Encode(m, c_.dialect, &b).ok());
  SendRaw(b);
  // Only once both Tflushes wait in the server does the read end.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (srv_->stats().pending[kTflush] < 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_EQ(2u, srv_->stats().pending[kTflush].load());
  fs_.ReleaseSlow();
  std::vector<uint16_t> order;
  order.reserve(3);
  for (int i = 0; i < 3; i++) order.push_back(Recv().tag);
  EXPECT_EQ((std::vector<uint16_t>{20, 21, 22}), order);  // each after what it flushed
  EXPECT_EQ(kRstat, Rpc(22, Tstat{0}).type());            // the tag is free again
}

TEST_F(ServerTest, VersionResetClunksEverything) {
  Version("9P2000");
  AttachRoot(0);
  ASSERT_EQ(kRwalk, WalkTo(0, 1, {"hello"}).type());
  ASSERT_EQ(kRwalk, WalkTo(0, 2, {"block"}).type());
  ASSERT_EQ(kRopen, Rpc(3, Topen{2, OREAD}).type());
  Send(30, Tread{2, 0, 10});  // pending forever unless aborted
  int before = g_live_nodes.load();
  EXPECT_GE(before, 3);
  Message r = Rpc(NOTAG, Tversion{8192, "9P2000"});
  // The pending read gets no answer: the next frame is Rversion.
  EXPECT_EQ(kRversion, r.type());
  EXPECT_EQ("unknown fid", ErrorOf(Rpc(3, Tstat{1})));
  EXPECT_EQ("unknown fid", ErrorOf(Rpc(3, Tstat{0})));
  for (int i = 0; i < 100 && g_live_nodes.load() > 0; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(0, g_live_nodes.load());
}

TEST_F(ServerTest, MalformedFrameGetsErrorAndSessionGoesOn) {
  Version("9P2000");
  AttachRoot(0);
  // A Twalk claiming 17 names.
  std::vector<uint8_t> bad = {0, 0, 0, 0, kTwalk, 5, 0, 0, 0, 0, 0, 1, 0, 0, 0, 17, 0};
  bad[0] = bad.size();
  SendRaw(bad);
  Message r = Recv();
  EXPECT_EQ(5, r.tag);
  EXPECT_EQ(kRerror, r.type());
  EXPECT_EQ(kRstat, Rpc(3, Tstat{0}).type());
}

TEST_F(ServerTest, ClosedConnectionReleasesFids) {
  RawConn c2;
  ASSERT_TRUE(c2.Connect(addr_).ok());
  Send(NOTAG, Tversion{8192, "9P2000"}, &c2);
  Recv(&c2);
  Send(1, Tattach{0, NOFID, "glenda", ""}, &c2);
  Recv(&c2);
  Twalk w{0, 1, {}};
  w.wname.push_back("hello");
  Send(2, w, &c2);
  Recv(&c2);
  EXPECT_GE(g_live_nodes.load(), 2);
  c2.Close();
  for (int i = 0; i < 200 && g_live_nodes.load() > 0; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(0, g_live_nodes.load());
}

TEST_F(ServerTest, DirectoryReadOffsets) {
  Version("9P2000");
  AttachRoot(0);
  ASSERT_EQ(kRwalk, WalkTo(0, 1, {}).type());
  ASSERT_EQ(kRopen, Rpc(3, Topen{1, OREAD}).type());
  // Read one entry at a time; each read's data is whole stat entries.
  uint64_t off = 0;
  std::vector<std::string> names;
  for (int i = 0; i < 10; i++) {
    Message r = Rpc(4, Tread{1, off, 80});
    ASSERT_EQ(kRread, r.type()) << ErrorOf(r);
    auto data = std::get<Rread>(r.body).data;
    if (data.empty()) break;
    StatReader sr(data);
    ninep::Stat s;
    while (sr.Next(&s)) names.push_back(std::string(s.name));
    EXPECT_TRUE(sr.error().ok());
    off += data.size();
  }
  EXPECT_EQ((std::vector<std::string>{"block", "hello", "slow"}), names);
  // An offset that is neither 0 nor the end of the last read is refused.
  EXPECT_EQ("bad offset in directory read", ErrorOf(Rpc(4, Tread{1, 3, 80})));
  // A count too small for any entry is an error, not a silent end.
  EXPECT_EQ(kRerror, Rpc(4, Tread{1, 0, 10}).type());
}

TEST_F(ServerTest, DotlSecondFidMustBeLive) {
  // Found by fuzz_server_session: Trenameat with newdirfid NOFID reached the
  // default Renameat with a null fid2, which dereferenced it.
  Version("9P2000.L");
  ASSERT_EQ(kRattach, Rpc(1, Tattach{0, NOFID, "glenda", "", NONUNAME}).type());
  for (const Body& b : {Body(Trenameat{0, "hello", NOFID, "howdy"}),
                        Body(Trename{0, NOFID, "howdy"}), Body(Tlink{0, NOFID, "howdy"})}) {
    Message r = Rpc(2, b);
    ASSERT_EQ(kRlerror, r.type()) << FormatMessage(r);
    EXPECT_EQ(static_cast<uint32_t>(EBADF), std::get<Rlerror>(r.body).ecode);
  }
  EXPECT_TRUE(fs_.Has("hello"));
  EXPECT_FALSE(fs_.Has("howdy"));
}

TEST_F(ServerTest, DotlDefaultsBuiltFromBaseCalls) {
  Version("9P2000.L");
  ASSERT_EQ(Dialect::k9P2000L, c_.dialect);
  Message r = Rpc(1, Tattach{0, NOFID, "glenda", "", NONUNAME});
  ASSERT_EQ(kRattach, r.type());
  // Tmkdir via walk(clone) + create(DMDIR).
  r = Rpc(2, Tmkdir{0, "sub", 0755, 0});
  ASSERT_EQ(kRmkdir, r.type()) << ErrorOf(r);
  EXPECT_EQ(QTDIR, std::get<Rmkdir>(r.body).qid.type);
  EXPECT_TRUE(fs_.Has("sub"));
  // Tgetattr via stat.
  ASSERT_EQ(kRwalk, WalkTo(0, 1, {"hello"}).type());
  r = Rpc(3, Tgetattr{1, P9_GETATTR_ALL});
  ASSERT_EQ(kRgetattr, r.type()) << ErrorOf(r);
  EXPECT_EQ(13u, std::get<Rgetattr>(r.body).size);
  EXPECT_EQ(0100644u, std::get<Rgetattr>(r.body).mode);
  // Trenameat within one directory via walk + wstat.
  r = Rpc(4, Trenameat{0, "hello", 0, "howdy"});
  ASSERT_EQ(kRrenameat, r.type()) << ErrorOf(r);
  EXPECT_TRUE(fs_.Has("howdy"));
  EXPECT_FALSE(fs_.Has("hello"));
  // Tunlinkat via walk + remove.
  r = Rpc(5, Tunlinkat{0, "howdy", 0});
  ASSERT_EQ(kRunlinkat, r.type()) << ErrorOf(r);
  EXPECT_FALSE(fs_.Has("howdy"));
  // Errors come as Rlerror with the errno.
  r = Rpc(6, Tunlinkat{0, "nope", 0});
  ASSERT_EQ(kRlerror, r.type());
  EXPECT_EQ(static_cast<uint32_t>(ENOENT), std::get<Rlerror>(r.body).ecode);
  // Treaddir via ReadDir, resuming from the last entry's offset.
  ASSERT_EQ(kRwalk, WalkTo(0, 7, {}).type());
  ASSERT_EQ(kRlopen, Rpc(3, Tlopen{7, 0}).type());
  std::vector<std::string> names;
  uint64_t off = 0;
  for (int i = 0; i < 10; i++) {
    r = Rpc(8, Treaddir{7, off, 40});
    ASSERT_EQ(kRreaddir, r.type()) << ErrorOf(r);
    auto data = std::get<Rreaddir>(r.body).data;
    if (data.empty()) break;
    DirentReader dr(data);
    Dirent d;
    while (dr.Next(&d)) {
      names.push_back(std::string(d.name));
      off = d.offset;
    }
  }
  EXPECT_EQ((std::vector<std::string>{"block", "slow", "sub"}), names);
  // 9P2000.L allows walking from an open directory fid (diodls -l does).
  EXPECT_EQ(kRwalk, WalkTo(7, 10, {"slow"}).type());
  // Statfs default and unsupported hooks.
  EXPECT_EQ(kRstatfs, Rpc(9, Tstatfs{0}).type());
  r = Rpc(9, Tsymlink{0, "l", "target", 0});
  EXPECT_EQ(kRlerror, r.type());
}

TEST_F(ServerTest, ManyOutstandingRequests) {
  Version("9P2000");
  AttachRoot(0);
  // 1000 stats in one write; every tag answered exactly once.
  std::vector<uint8_t> all;
  for (uint16_t t = 100; t < 1100; t++) {
    Message m;
    m.tag = t;
    m.body = Tstat{0};
    ASSERT_TRUE(Encode(m, c_.dialect, &all).ok());
  }
  SendRaw(all);
  std::vector<int> seen(1100, 0);
  for (int i = 0; i < 1000; i++) {
    Message r = Recv();
    ASSERT_EQ(kRstat, r.type());
    seen[r.tag]++;
  }
  for (uint16_t t = 100; t < 1100; t++) EXPECT_EQ(1, seen[t]) << t;
}

// The tests' raw connection: a header cut short by EOF, or a size field
// smaller than the header itself, is an error, never a frame of size - 4
// (about 4 GiB) to wait for.
TEST(RawConnRecv, ShortOrUndersizedHeaderIsAnError) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  RawConn c;
  c.Adopt(sv[0], sv[0]);
  const uint8_t size3[] = {3, 0, 0, 0, kRversion, 0xff, 0xff};
  ASSERT_EQ(write(sv[1], size3, sizeof size3), static_cast<ssize_t>(sizeof size3));
  Result<RawReply> r = c.Recv(5000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().err(), EPROTO) << r.status().message();
  close(sv[0]);
  close(sv[1]);

  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  RawConn d;
  d.Adopt(sv[0], sv[0]);
  ASSERT_EQ(write(sv[1], size3, 2), 2);
  close(sv[1]);
  r = d.Recv(5000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().err(), ECONNRESET) << r.status().message();
  close(sv[0]);
}

}  // namespace
}  // namespace ninep
