// cmdfs_test.cc: bin/cmdfs on 127.0.0.1, driven with lib9p's client over a
// connection held open (a command directory lives only while its files are).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <regex>
#include <thread>

#include "ninep/client.h"
#include "testutil.h"

namespace {

using ninep::Client;
using ninep::ClientOptions;
using ninep::Fid;
using ninep::Status;
using ninep::testing::Process;
using ninep::testing::ReadFile;
using ninep::testing::Sh;
using ninep::testing::StartServer;
using ninep::testing::TempDir;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

// A command directory as the test holds it: ctl (from clone) and N.
struct Conv {
  Fid ctl;
  std::string n;
};

// Polls pred every 10 ms for at most `ms`; true when it held.
template <class F>
bool Eventually(F pred, int ms = 10000) {
  auto end = steady_clock::now() + milliseconds(ms);
  while (steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return pred();
}

// VmRSS of a process in KiB (0 if unknown).
long RssKiB(pid_t pid) {
  std::string s = ReadFile("/proc/" + std::to_string(pid) + "/status");
  size_t at = s.find("VmRSS:");
  return at == std::string::npos ? 0 : std::stol(s.substr(at + 6));
}

// The test's working directory, which cmdfs inherits (a command's default).
std::string Cwd() {
  char buf[4096];
  return getcwd(buf, sizeof buf) ? buf : "";
}

bool Alive(pid_t pid) { return kill(pid, 0) == 0 || errno != ESRCH; }

class CmdfsTest : public ::testing::Test {
 protected:
  void SetUp() override { Start({"-l", audit()}); }
  void TearDown() override {
    root_ = Fid();
    client_.reset();
    // SIGTERM, so cmdfs kills its commands before exiting.
    srv_.Kill(SIGTERM);
  }

  std::string audit() const { return tmp_.path() + "/audit.log"; }

  void Start(std::vector<std::string> args, ninep::Dialect d = ninep::Dialect::k9P2000) {
    // Under AddressSanitizer freed frames sit in a 256 MiB quarantine, which
    // would read as RSS growth; keep it small (no effect in other builds).
    std::string asan = getenv("ASAN_OPTIONS") ? getenv("ASAN_OPTIONS") : "";
    if (asan.find("quarantine_size_mb") == std::string::npos) {
      setenv("ASAN_OPTIONS", (asan + (asan.empty() ? "" : ":") + "quarantine_size_mb=4").c_str(),
             1);
    }
    addr_ = StartServer(&srv_, "cmdfs", std::move(args));
    ASSERT_FALSE(addr_.empty()) << "cmdfs did not start";
    client_ = Connect(d);
    ASSERT_TRUE(client_);
    auto r = client_->Attach("glenda", "");
    ASSERT_TRUE(r.ok()) << r.status().message();
    root_ = std::move(*r);
  }

  std::unique_ptr<Client> Connect(ninep::Dialect d = ninep::Dialect::k9P2000) {
    ClientOptions o;
    o.dialect = d;
    o.call_timeout = std::chrono::seconds(60);
    auto c = Client::Connect(addr_, o);
    EXPECT_TRUE(c.ok()) << c.status().message();
    return c.ok() ? std::move(*c) : nullptr;
  }

  // Opens clone: a new command directory, held by its ctl.
  Conv Clone(Fid* root = nullptr) {
    if (!root) root = &root_;
    Conv c;
    auto f = root->Walk("clone");
    EXPECT_TRUE(f.ok()) << f.status().message();
    if (!f.ok()) return c;
    c.ctl = std::move(*f);
    Status s = c.ctl.Open(ninep::ORDWR);
    EXPECT_TRUE(s.ok()) << s.message();
    c.n = ReadFirst(c.ctl);
    while (!c.n.empty() && c.n.back() == '\n') c.n.pop_back();
    return c;
  }

  // Starts `cmd` (exec's words) in c and opens its data file for reading:
  // the command's stdout. An invalid Fid when either fails.
  Fid Exec(Conv& c, const std::string& cmd) {
    Status s = Ctl(c, "exec " + cmd);
    EXPECT_TRUE(s.ok()) << cmd << ": " << s.message();
    return s.ok() ? Open(c.n + "/data", ninep::OREAD) : Fid();
  }

  // One Twrite of msg to ctl (sent even when empty).
  static Status Ctl(Conv& c, const std::string& msg) {
    ninep::Twrite t;
    t.fid = c.ctl.num();
    t.data = std::span(reinterpret_cast<const uint8_t*>(msg.data()), msg.size());
    auto r = c.ctl.client()->CallSync(t);
    return r.ok() ? Status() : r.status();
  }

  Fid Open(const std::string& path, uint8_t mode, Fid* root = nullptr) {
    if (!root) root = &root_;
    auto f = root->Walk(path);
    EXPECT_TRUE(f.ok()) << path << ": " << f.status().message();
    if (!f.ok()) return Fid();
    Status s = f->Open(mode);
    EXPECT_TRUE(s.ok()) << path << ": " << s.message();
    return std::move(*f);
  }

  // What one read at offset 0 yields (a pid the command printed, the
  // number a clone's ctl gives); "" when the read fails.
  static std::string ReadFirst(Fid& f) {
    uint8_t buf[64];
    auto n = f.ReadOnce(0, buf);
    EXPECT_TRUE(n.ok()) << n.status().message();
    return n.ok() ? std::string(reinterpret_cast<char*>(buf), *n) : "";
  }

  // Reads a stream file to EOF (at most `cap` bytes).
  static std::string ReadAll(Fid& f, size_t cap = 1 << 20) {
    std::string out;
    std::vector<uint8_t> buf(64 * 1024);
    uint64_t off = 0;
    while (out.size() < cap) {
      auto n = f.ReadOnce(off, buf);
      EXPECT_TRUE(n.ok()) << n.status().message();
      if (!n.ok() || *n == 0) break;
      out.append(reinterpret_cast<char*>(buf.data()), *n);
      off += *n;
    }
    return out;
  }

  // Opens, reads whole and clunks a file (status, ps, wait).
  std::string Cat(const std::string& path) {
    Fid f = Open(path, ninep::OREAD);
    if (!f.valid()) return "";
    return ReadAll(f);
  }

  static Status Write(Fid& f, const std::string& s) {
    auto r = f.Write(0, std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
    return r.ok() ? Status() : r.status();
  }

  // Runs argv-words in a fresh directory and returns {stdout, wait record}.
  std::pair<std::string, std::string> Run(const std::string& exec) {
    Conv c = Clone();
    Fid data = Exec(c, exec);
    std::string out = ReadAll(data);
    return {out, Cat(c.n + "/wait")};
  }

  TempDir tmp_;
  Process srv_;
  std::string addr_;
  std::unique_ptr<Client> client_;
  Fid root_;
};

const std::regex kWait(R"(^(\d+) (\d+) (\d+) (\d+) '(.*)'\n$)");

// The status field of a wait record ("" when malformed).
std::string WaitStatus(const std::string& rec) {
  std::smatch m;
  return std::regex_match(rec, m, kWait) ? m[5].str() : "<bad record: " + rec + ">";
}

TEST_F(CmdfsTest, CloneExecDataAndWait) {
  Conv c = Clone();
  ASSERT_FALSE(c.n.empty());
  EXPECT_EQ(Cat(c.n + "/status"), "cmd/" + c.n + " 1 Open " + Cwd() + " ''\n");
  Fid data = Exec(c, "echo 'hello world'");
  ASSERT_TRUE(data.valid());
  EXPECT_EQ(ReadAll(data), "hello world\n");
  std::string rec = Cat(c.n + "/wait");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(rec, m, kWait)) << rec;
  EXPECT_GT(std::stol(m[1]), 1);
  EXPECT_EQ(m[5].str(), "");
  EXPECT_EQ(Cat(c.n + "/status"), "cmd/" + c.n + " 2 Done " + Cwd() + " echo\n");
  // ctl reads give N; ps lists the directory.
  EXPECT_EQ(ReadFirst(c.ctl), c.n + "\n");
  EXPECT_NE(Cat("ps").find("cmd/" + c.n + " "), std::string::npos);
}

TEST_F(CmdfsTest, WaitTimesAreReal) {
  auto [out, rec] = Run("sh -c 'i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; sleep 0.2'");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(rec, m, kWait)) << rec;
  EXPECT_GT(std::stol(m[2]) + std::stol(m[3]), 0) << rec;  // user + sys
  EXPECT_GE(std::stol(m[4]), 200) << rec;                  // real
}

TEST_F(CmdfsTest, StdinThroughDataWithEofWhenWriterCloses) {
  Conv c = Clone();
  ASSERT_TRUE(Ctl(c, "exec sort").ok());
  Fid in = Open(c.n + "/data", ninep::OWRITE);
  Fid out = Open(c.n + "/data", ninep::OREAD);
  ASSERT_TRUE(Write(in, "pear\napple\nfig\n").ok());
  ASSERT_TRUE(Write(in, "banana\n").ok());
  ASSERT_TRUE(in.Clunk().ok());  // the last writer: sort sees EOF
  EXPECT_EQ(ReadAll(out), "apple\nbanana\nfig\npear\n");
  EXPECT_EQ(WaitStatus(Cat(c.n + "/wait")), "");
}

TEST_F(CmdfsTest, StdinWrittenBeforeExecWaitsForTheCommand) {
  Conv c = Clone();
  Fid in = Open(c.n + "/data", ninep::OWRITE);
  Status ws;
  // The write is answered only once its bytes are in the command's pipe.
  std::thread writer([&] {
    ws = Write(in, "queued\n");
    if (ws.ok()) ws = in.Clunk();
  });
  ASSERT_TRUE(Ctl(c, "exec cat").ok());
  writer.join();
  ASSERT_TRUE(ws.ok()) << ws.message();
  Fid out = Open(c.n + "/data", ninep::OREAD);
  EXPECT_EQ(ReadAll(out), "queued\n");
  EXPECT_EQ(WaitStatus(Cat(c.n + "/wait")), "");
}

TEST_F(CmdfsTest, StderrKeptApartFromStdout) {
  Conv c = Clone();
  Fid data = Exec(c, "sh -c 'echo out; echo err >&2; echo out2; exit 3'");
  ASSERT_TRUE(data.valid());
  Fid err = Open(c.n + "/stderr", ninep::OREAD);
  EXPECT_EQ(ReadAll(data), "out\nout2\n");
  EXPECT_EQ(ReadAll(err), "err\n");
  EXPECT_EQ(WaitStatus(Cat(c.n + "/wait")), "exit: 3");
}

TEST_F(CmdfsTest, KillKillsTheGroup) {
  Conv c = Clone();
  // The shell's child is in the same process group and must die too.
  Fid data = Exec(c, "sh -c 'sleep 100 & echo $!; wait'");
  ASSERT_TRUE(data.valid());
  std::string first = ReadFirst(data);
  ASSERT_FALSE(first.empty());
  pid_t child = std::stoi(first);
  ASSERT_TRUE(Alive(child));
  ASSERT_TRUE(Ctl(c, "kill").ok());
  EXPECT_EQ(WaitStatus(Cat(c.n + "/wait")), "killed");
  EXPECT_TRUE(Eventually([&] { return !Alive(child); })) << "grandchild " << child << " survived";
  // Once it has ended, kill says so.
  Status s = Ctl(c, "kill");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("ended"), std::string::npos) << s.message();
}

TEST_F(CmdfsTest, SignalByNameAndNumber) {
  Conv a = Clone();
  ASSERT_TRUE(Ctl(a, "exec sleep 100").ok());
  ASSERT_TRUE(Ctl(a, "signal TERM").ok());
  EXPECT_EQ(WaitStatus(Cat(a.n + "/wait")), "signal: 15");
  Conv b = Clone();
  ASSERT_TRUE(Ctl(b, "exec sleep 100").ok());
  ASSERT_TRUE(Ctl(b, "signal 10").ok());
  EXPECT_EQ(WaitStatus(Cat(b.n + "/wait")), "signal: 10");
  // A handled signal does not end it: sh traps HUP and exits 7.
  Conv d = Clone();
  Fid data = Exec(d, "sh -c 'trap \"exit 7\" HUP; echo ready; while :; do sleep 0.05; done'");
  ASSERT_TRUE(data.valid());
  ASSERT_FALSE(ReadFirst(data).empty());
  ASSERT_TRUE(Ctl(d, "signal sighup").ok());
  EXPECT_EQ(WaitStatus(Cat(d.n + "/wait")), "exit: 7");
}

TEST_F(CmdfsTest, DirAndEnv) {
  Conv c = Clone();
  std::string dir = tmp_.path() + "/work dir";
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  ASSERT_TRUE(Ctl(c, "dir '" + dir + "'").ok());
  ASSERT_TRUE(Ctl(c, "env GREETING='hello there' EMPTY=").ok());
  ASSERT_TRUE(Ctl(c, "env GREETING=\"it's set\"").ok());  // the later value wins
  Fid data = Exec(c, "sh -c 'pwd; echo \"$GREETING\"; echo \"[${EMPTY-unset}]\"'");
  ASSERT_TRUE(data.valid());
  EXPECT_EQ(ReadAll(data), dir + "\nit's set\n[]\n");
  EXPECT_NE(Cat(c.n + "/status").find("'" + dir + "' sh"), std::string::npos);
  // After exec, dir and env are refused.
  EXPECT_FALSE(Ctl(c, "dir /").ok());
  EXPECT_FALSE(Ctl(c, "env A=b").ok());
}

TEST_F(CmdfsTest, ExecOfMissingProgramFailsAndDirectorySurvives) {
  Conv c = Clone();
  Status s = Ctl(c, "exec /nonexistent/prog arg");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.err(), ENOENT) << s.message();
  EXPECT_NE(s.message().find("No such file or directory"), std::string::npos) << s.message();
  s = Ctl(c, "exec no-such-program-anywhere");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("no-such-program-anywhere"), std::string::npos) << s.message();
  s = Ctl(c, "dir /nonexistent/dir");
  ASSERT_TRUE(s.ok());
  s = Ctl(c, "exec true");
  EXPECT_NE(s.message().find("dir /nonexistent/dir"), std::string::npos) << s.message();
  EXPECT_EQ(Cat(c.n + "/status").substr(0, c.n.size() + 12), "cmd/" + c.n + " 1 Open ");
  ASSERT_TRUE(Ctl(c, "dir /").ok());
  Fid data = Exec(c, "echo survived");
  ASSERT_TRUE(data.valid());
  EXPECT_EQ(ReadAll(data), "survived\n");
}

TEST_F(CmdfsTest, HundredMiBReadSlowlyKeepsServerMemoryBounded) {
  Conv c = Clone();
  const size_t total = 100u << 20;
  ASSERT_TRUE(
      Ctl(c, "exec sh -c 'echo $$ >&2; exec head -c " + std::to_string(total) + " /dev/zero'")
          .ok());
  Fid err = Open(c.n + "/stderr", ninep::OREAD);
  uint8_t pbuf[32];
  auto pn = err.ReadOnce(0, pbuf);
  ASSERT_TRUE(pn.ok() && *pn > 0);
  pid_t producer = std::stoi(std::string(reinterpret_cast<char*>(pbuf), *pn));
  // Nobody reads yet: the producer must end up blocked in write(2) on a
  // full pipe, because cmdfs stopped reading at its buffer's bound.
  auto blocked = [&] {
    std::string sc = ReadFile("/proc/" + std::to_string(producer) + "/syscall");
    return sc.rfind("1 ", 0) == 0;  // write
  };
  std::string io = "/proc/" + std::to_string(producer) + "/io";
  auto wchar = [&] {
    std::string s = ReadFile(io);
    size_t at = s.find("wchar:");
    return at == std::string::npos ? -1L : std::stol(s.substr(at + 6));
  };
  ASSERT_TRUE(Eventually([&] {
    long a = wchar();
    if (!blocked()) return false;
    std::this_thread::sleep_for(milliseconds(100));
    return blocked() && wchar() == a;
  })) << "producer never blocked";
  long written = wchar();
  EXPECT_LT(written, 8L << 20) << "cmdfs read far more than its bound";
  long rss0 = RssKiB(srv_.pid());
  EXPECT_LT(rss0, 64 * 1024) << "cmdfs RSS " << rss0 << " KiB";

  Fid data = Open(c.n + "/data", ninep::OREAD);
  std::vector<uint8_t> buf(256 * 1024);
  size_t got = 0;
  long peak = rss0;
  uint64_t off = 0;
  bool zeros = true;
  for (int i = 0; got < total && i < 100000; i++) {
    auto n = data.ReadOnce(off, buf);
    ASSERT_TRUE(n.ok()) << n.status().message();
    if (*n == 0) break;
    for (size_t k = 0; k < *n; k += 4096) zeros = zeros && buf[k] == 0;
    got += *n;
    off += *n;
    if (i % 64 == 0) {
      // Slow down now and then so the producer blocks again.
      std::this_thread::sleep_for(milliseconds(5));
      peak = std::max(peak, RssKiB(srv_.pid()));
    }
  }
  printf("[ figures  ] producer blocked after %ld bytes; cmdfs RSS %ld KiB then, peak %ld KiB\n",
         written, rss0, peak);
  EXPECT_EQ(got, total);
  EXPECT_TRUE(zeros);
  EXPECT_LT(peak, 64 * 1024) << "cmdfs RSS peaked at " << peak << " KiB";
  EXPECT_LT(peak - rss0, 32 * 1024) << "cmdfs RSS grew from " << rss0 << " to " << peak << " KiB";
  EXPECT_EQ(WaitStatus(Cat(c.n + "/wait")), "");
}

TEST_F(CmdfsTest, FiftyConcurrentCommands) {
  const int kN = 50;
  std::vector<Conv> cs;
  for (int i = 0; i < kN; i++) {
    cs.push_back(Clone());
    // Each waits for its stdin, so all 50 run at once until fed.
    ASSERT_TRUE(Ctl(cs.back(), "exec sh -c 'read x; echo $0 $x' cmd" + std::to_string(i)).ok());
  }
  std::string ps = Cat("ps");
  int running = 0;
  for (size_t at = 0; (at = ps.find(" Execute ", at)) != std::string::npos; at++) running++;
  EXPECT_EQ(running, kN) << ps;
  // Read them all at once, from threads, on the one connection.
  std::vector<std::string> outs(kN), recs(kN);
  std::vector<std::thread> ts;
  ts.reserve(kN);
  for (int i = 0; i < kN; i++) {
    ts.emplace_back([&, i] {
      Fid in = Open(cs[i].n + "/data", ninep::OWRITE);
      Status ws = Write(in, "go\n");
      EXPECT_TRUE(ws.ok()) << ws.message() << " " << Cat(cs[i].n + "/wait")
                           << Cat(cs[i].n + "/status");
      in = Fid();
      Fid d = Open(cs[i].n + "/data", ninep::OREAD);
      outs[i] = ReadAll(d);
      recs[i] = Cat(cs[i].n + "/wait");
    });
  }
  for (auto& t : ts) t.join();
  for (int i = 0; i < kN; i++) {
    EXPECT_EQ(outs[i], "cmd" + std::to_string(i) + " go\n");
    EXPECT_EQ(WaitStatus(recs[i]), "");
  }
}

TEST_F(CmdfsTest, CommandThatExitsBeforeAnyoneReads) {
  Conv c = Clone();
  ASSERT_TRUE(Ctl(c, "exec sh -c 'echo early; echo late >&2; exit 2'").ok());
  ASSERT_TRUE(Eventually([&] { return Cat(c.n + "/status").find(" Done ") != std::string::npos; }));
  Fid data = Open(c.n + "/data", ninep::OREAD);
  Fid err = Open(c.n + "/stderr", ninep::OREAD);
  EXPECT_EQ(ReadAll(data), "early\n");
  EXPECT_EQ(ReadAll(err), "late\n");
  EXPECT_EQ(WaitStatus(Cat(c.n + "/wait")), "exit: 2");
  // Every open of wait gets the record.
  EXPECT_EQ(WaitStatus(Cat(c.n + "/wait")), "exit: 2");
}

TEST_F(CmdfsTest, WaitOpenedBeforeExecBlocksUntilExit) {
  Conv c = Clone();
  Fid wait = Open(c.n + "/wait", ninep::OREAD);
  // The command exits only once the test writes its stdin, so the read of
  // wait below is in cmdfs's hands well before the exit.
  ASSERT_TRUE(Ctl(c, "exec sh -c 'read x; exit 4'").ok());
  // Shared with the callback, which may outlive an early return.
  struct Answer {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    std::string rec;
  };
  auto a = std::make_shared<Answer>();
  client_->Call(ninep::Tread{wait.num(), 0, 256}, [a](ninep::Result<ninep::Reply> r) {
    std::lock_guard<std::mutex> l(a->mu);
    if (r.ok()) {
      auto& d = std::get<ninep::Rread>(r->msg.body).data;
      a->rec.assign(d.begin(), d.end());
    }
    a->done = true;
    a->cv.notify_all();
  });
  // Calls from one thread leave in order on the one connection, and cmdfs
  // handles a connection's requests in order: once this walk and open are
  // answered, the read has been taken in, and it cannot be answered yet.
  Fid in = Open(c.n + "/data", ninep::OWRITE);
  {
    std::lock_guard<std::mutex> l(a->mu);
    EXPECT_FALSE(a->done) << "wait answered before the command exited: " << a->rec;
  }
  ASSERT_TRUE(Write(in, "go\n").ok());
  std::unique_lock<std::mutex> l(a->mu);
  ASSERT_TRUE(a->cv.wait_for(l, std::chrono::seconds(30), [&] { return a->done; }));
  EXPECT_EQ(WaitStatus(a->rec), "exit: 4");
}

TEST_F(CmdfsTest, MalformedCtlMessagesGetErrorsAndDirectorySurvives) {
  Conv c = Clone();
  const char* bad[] = {
      "",                     // empty (a Twrite of 0 bytes)
      "   ",                  // blanks only
      "frobnicate",           // unknown verb
      "exec",                 // nothing to run
      "exec ''",              // empty program name
      "exec 'unterminated",   // open rc quote
      "exec \"unterminated",  // open sh quote
      "exec trailing\\",      // trailing backslash
      "kill now",             // argument to kill
      "kill",                 // nothing running yet
      "signal",               // no signal
      "signal NOSUCH",        // bad name
      "signal 0",             // bad number
      "signal TERM",          // nothing running yet
      "dir",                  // no path
      "dir a b",              // two paths
      "env",                  // nothing to set
      "env JUSTNAME",         // no '='
      "env 9LIVES=x",         // bad name
      "nice -3",              // negative
      "nice 1 2",             // two increments
      "killonclose please",   // argument
      "limit",                // nothing to limit
      "limit cpu",            // no value
      "limit wall=3",         // unknown limit
      "limit mem=lots",       // bad size
      "exec a\nexec b",       // two messages in one write
  };
  for (const char* msg : bad) {
    Status s = Ctl(c, msg);
    EXPECT_FALSE(s.ok()) << "accepted: " << msg;
    EXPECT_FALSE(s.message().empty()) << msg;
  }
  std::string nul("exec a\0b", 8);
  EXPECT_FALSE(Ctl(c, nul).ok());
  EXPECT_EQ(Cat(c.n + "/status"), "cmd/" + c.n + " 1 Open " + Cwd() + " ''\n");
  Fid data = Exec(c, "echo fine");
  ASSERT_TRUE(data.valid());
  EXPECT_EQ(ReadAll(data), "fine\n");
  Status s = Ctl(c, "exec echo again");
  EXPECT_FALSE(s.ok());
}

TEST_F(CmdfsTest, DisconnectedClientReleasesEverything) {
  auto other = Connect();
  ASSERT_TRUE(other);
  auto oroot = other->Attach("glenda", "");
  ASSERT_TRUE(oroot.ok());
  Conv c = Clone(&*oroot);
  ASSERT_TRUE(Ctl(c, "exec sh -c 'sleep 1000 & echo $$ $!; wait'").ok());
  Fid data = Open(c.n + "/data", ninep::OREAD, &*oroot);
  pid_t sh = 0, sleeper = 0;
  ASSERT_EQ(sscanf(ReadFirst(data).c_str(), "%d %d", &sh, &sleeper), 2);
  ASSERT_TRUE(Alive(sh) && Alive(sleeper));
  EXPECT_NE(Cat("ps").find("cmd/" + c.n + " "), std::string::npos);
  // Drop the connection with everything still open.
  data = Fid();
  c.ctl = Fid();
  *oroot = Fid();
  other.reset();
  EXPECT_TRUE(Eventually([&] { return !Alive(sh) && !Alive(sleeper); }))
      << "processes " << sh << " " << sleeper << " survived the disconnect";
  EXPECT_TRUE(Eventually([&] { return Cat("ps").find("cmd/" + c.n + " ") == std::string::npos; }))
      << Cat("ps");
  EXPECT_FALSE(root_.Walk(c.n).ok());
}

TEST_F(CmdfsTest, ClosingEveryFileKillsAndRecycles) {
  Conv c = Clone();
  Fid data = Exec(c, "sh -c 'echo $$; exec sleep 1000'");
  ASSERT_TRUE(data.valid());
  std::string first = ReadFirst(data);
  ASSERT_FALSE(first.empty());
  pid_t pid = std::stoi(first);
  ASSERT_TRUE(data.Clunk().ok());
  EXPECT_TRUE(Alive(pid));  // ctl still open
  ASSERT_TRUE(c.ctl.Clunk().ok());
  EXPECT_TRUE(Eventually([&] { return !Alive(pid); }));
  EXPECT_TRUE(Eventually([&] { return Cat("ps").find("cmd/" + c.n + " ") == std::string::npos; }));
}

TEST_F(CmdfsTest, KillOnCloseKillsWhenCtlCloses) {
  Conv c = Clone();
  Fid wait = Open(c.n + "/wait", ninep::OREAD);  // keeps the directory
  ASSERT_TRUE(Ctl(c, "killonclose").ok());
  ASSERT_TRUE(Ctl(c, "exec sleep 1000").ok());
  ASSERT_TRUE(c.ctl.Clunk().ok());
  EXPECT_EQ(WaitStatus(ReadAll(wait)), "killed");
  // Without killonclose, closing ctl alone leaves the command running.
  Conv d = Clone();
  Fid dwait = Open(d.n + "/wait", ninep::OREAD);
  ASSERT_TRUE(Ctl(d, "exec sleep 1000").ok());
  ASSERT_TRUE(d.ctl.Clunk().ok());
  EXPECT_NE(Cat(d.n + "/status").find(" Execute "), std::string::npos);
}

TEST_F(CmdfsTest, TimeLimitKillsABusyLoop) {
  Conv c = Clone();
  ASSERT_TRUE(Ctl(c, "limit time=0.5").ok());
  ASSERT_TRUE(Ctl(c, "exec sh -c 'while :; do :; done'").ok());
  std::string rec = Cat(c.n + "/wait");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(rec, m, kWait)) << rec;
  EXPECT_EQ(m[5].str(), "killed");
  EXPECT_GE(std::stol(m[4]), 500);
  EXPECT_LT(std::stol(m[4]), 10000);
}

TEST_F(CmdfsTest, CpuLimitStopsABusyLoop) {
  Conv c = Clone();
  ASSERT_TRUE(Ctl(c, "limit cpu=1 time=30").ok());
  ASSERT_TRUE(Ctl(c, "exec sh -c 'while :; do :; done'").ok());
  std::string rec = Cat(c.n + "/wait");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(rec, m, kWait)) << rec;
  EXPECT_EQ(m[5].str(), "signal: " + std::to_string(SIGXCPU)) << rec;
  // The kernel enforces the limit on exact runtime, while wait4's user and
  // sys times are tick-sampled and split by proportion: on a loaded machine
  // they were seen at 761 ms for a 1 s limit. Half a second still proves the
  // command ran on the CPU until the limit, not that it was killed at once.
  EXPECT_GE(std::stol(m[2]) + std::stol(m[3]), 500) << rec;
}

TEST_F(CmdfsTest, ProcsLimit) {
  Conv c = Clone();
  ASSERT_TRUE(Ctl(c, "limit procs=3 time=30").ok());
  ASSERT_TRUE(Ctl(c,
                  "exec sh -c 'n=0; for i in 1 2 3 4 5 6 7 8; do sleep 1 & n=$((n+1)); done; "
                  "echo started; kill 0'")
                  .ok());
  Fid err = Open(c.n + "/stderr", ninep::OREAD);
  std::string e = ReadAll(err);
  EXPECT_NE(e.find("fork"), std::string::npos) << "stderr: " << e;
}

TEST_F(CmdfsTest, MemLimit) {
  Conv c = Clone();
  ASSERT_TRUE(Ctl(c, "limit mem=64m time=30").ok());
  ASSERT_TRUE(Ctl(c,
                  "exec awk 'BEGIN { s = \"x\"; while (length(s) < 200000000) s = s s; print "
                  "length(s) }'")
                  .ok());
  Fid data = Open(c.n + "/data", ninep::OREAD);
  EXPECT_EQ(ReadAll(data), "");
  EXPECT_NE(WaitStatus(Cat(c.n + "/wait")), "");
}

TEST_F(CmdfsTest, FlushedReadLeavesTheDirectoryWorking) {
  Conv c = Clone();
  Fid data = Open(c.n + "/data", ninep::OREAD);
  std::atomic<int> done{0};
  std::atomic<int> err{0};
  ninep::Tread t;
  t.fid = data.num();
  t.count = 100;
  auto id = client_->Call(t, [&](ninep::Result<ninep::Reply> r) {
    err = r.ok() ? 0 : r.status().err();
    done = 1;
  });
  client_->Cancel(id);
  ASSERT_TRUE(Eventually([&] { return done.load() == 1; }));
  EXPECT_NE(err.load(), 0);
  ASSERT_TRUE(Ctl(c, "exec echo after-flush").ok());
  EXPECT_EQ(ReadAll(data), "after-flush\n");
}

TEST_F(CmdfsTest, AuditLogHasOneLinePerCommand) {
  (void)Run("echo 'audited words'");
  Conv c = Clone();
  EXPECT_FALSE(Ctl(c, "exec /no/such/thing").ok());
  std::string log;
  ASSERT_TRUE(Eventually([&] {
    log = ReadFile(audit());
    return std::count(log.begin(), log.end(), '\n') >= 2;
  })) << log;
  EXPECT_TRUE(std::regex_search(
      log,
      std::regex(
          R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ tcp!127\.0\.0\.1!\d+ glenda \d+ '' echo 'audited words'\n)")))
      << log;
  EXPECT_TRUE(std::regex_search(
      log,
      std::regex(R"( glenda - 'exec /no/such/thing: No such file or directory' /no/such/thing\n)")))
      << log;
}

TEST_F(CmdfsTest, DotLDialectRunsCommands) {
  auto c = Connect(ninep::Dialect::k9P2000L);
  ASSERT_TRUE(c);
  auto root = c->Attach("glenda", "");
  ASSERT_TRUE(root.ok());
  Conv cv = Clone(&*root);
  ASSERT_TRUE(Ctl(cv, "exec echo dotl").ok());
  Fid data = Open(cv.n + "/data", ninep::OREAD, &*root);
  EXPECT_EQ(ReadAll(data), "dotl\n");
  Status s = Ctl(cv, "bogus");
  EXPECT_EQ(s.err(), EINVAL);
}

TEST_F(CmdfsTest, SigtermKillsCommandsAndExits) {
  Conv c = Clone();
  Fid data = Exec(c, "sh -c 'echo $$; exec sleep 1000'");
  ASSERT_TRUE(data.valid());
  std::string first = ReadFirst(data);
  ASSERT_FALSE(first.empty());
  pid_t pid = std::stoi(first);
  int st = srv_.Kill(SIGTERM);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
  EXPECT_TRUE(Eventually([&] { return !Alive(pid); }));
  EXPECT_NE(ReadFile(audit()).find(" 'killed' sh -c "), std::string::npos) << ReadFile(audit());
}

TEST(CmdfsFlags, NonLoopbackNeedsInsecureAndUsageErrorsExit2) {
  int rc = 0;
  std::string bin = ninep::testing::Bin("cmdfs");
  std::string out = Sh("'" + bin + "' -a 'tcp!0.0.0.0!0' 2>&1", &rc);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("cmdfs: listen tcp!0.0.0.0!0: "), std::string::npos) << out;
  EXPECT_NE(out.find("--insecure"), std::string::npos) << out;
  out = Sh("'" + bin + "' -a 'tcp!*!0' 2>&1", &rc);
  EXPECT_EQ(rc, 1) << out;
  out = Sh("'" + bin + "' -q 2>&1", &rc);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("usage: cmdfs"), std::string::npos) << out;
  out = Sh("'" + bin + "' -t -5 2>&1", &rc);
  EXPECT_EQ(rc, 2) << out;
  out = Sh("'" + bin + "' -a 'tcp!127.0.0.1!0' -l /nonexistent/dir/audit 2>&1", &rc);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("cmdfs: "), std::string::npos) << out;
}

TEST(CmdfsFlags, DefaultTimeoutAppliesToEveryCommand) {
  Process srv;
  std::string addr = StartServer(&srv, "cmdfs", {"-t", "0.3"});
  ASSERT_FALSE(addr.empty());
  auto c = Client::Connect(addr, ClientOptions{});
  ASSERT_TRUE(c.ok());
  auto root = (*c)->Attach("glenda", "");
  ASSERT_TRUE(root.ok());
  auto ctl = root->Walk("clone");
  ASSERT_TRUE(ctl.ok());
  ASSERT_TRUE(ctl->Open(ninep::ORDWR).ok());
  uint8_t buf[16];
  auto n = ctl->ReadOnce(0, buf);
  ASSERT_TRUE(n.ok());
  std::string dir(reinterpret_cast<char*>(buf), *n - 1);
  std::string msg = "exec sleep 100";
  ASSERT_TRUE(
      ctl->Write(0, std::span(reinterpret_cast<const uint8_t*>(msg.data()), msg.size())).ok());
  auto w = root->Walk(dir + "/wait");
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(w->Open(ninep::OREAD).ok());
  uint8_t rec[128];
  auto rn = w->ReadOnce(0, rec);
  ASSERT_TRUE(rn.ok());
  EXPECT_EQ(WaitStatus(std::string(reinterpret_cast<char*>(rec), *rn)), "killed");
  *w = Fid();
  *ctl = Fid();
  *root = Fid();
  c->reset();
  srv.Kill(SIGTERM);
}

}  // namespace
