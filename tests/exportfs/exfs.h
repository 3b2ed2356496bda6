// exfs.h: helpers for exportfs's integration tests: start a real
// bin/exportfs on 127.0.0.1 port 0 exporting a fresh temporary directory,
// connect our lib9p client in either dialect, and issue any T-message with
// fids the test controls (for the cases the Fid facade does not cover).
// Thread-safety: an ExportServer belongs to one test; a Conn's calls may
// come from several threads (the Client is thread-safe).
#ifndef NINEP_TESTS_EXPORTFS_EXFS_H_
#define NINEP_TESTS_EXPORTFS_EXFS_H_

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "ninep/client.h"
#include "ninep/dir.h"
#include "ninep/wire.h"
#include "testutil.h"

namespace ninep::testing {

// A running bin/exportfs exporting dir().
class ExportServer {
 public:
  // Starts exportfs -r <tmpdir> plus `extra`; false when it printed no address.
  bool Start(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{"-r", dir_.path()};
    args.insert(args.end(), extra.begin(), extra.end());
    addr_ = StartServer(&proc_, "exportfs", args);
    return !addr_.empty();
  }
  const std::string& addr() const { return addr_; }
  const std::string& root() const { return dir_.path(); }
  // The local path of a file in the export.
  std::string Path(const std::string& rel) const { return dir_.path() + "/" + rel; }
  Process& proc() { return proc_; }
  // "127.0.0.1:PORT", as diod's tools want it.
  std::string HostPort() const {
    auto p = addr_.rfind('!');
    return "127.0.0.1:" + addr_.substr(p + 1);
  }

 private:
  TempDir dir_;
  Process proc_;
  std::string addr_;
};

// A client connection with its root fid.
class Conn {
 public:
  // Connects and attaches `aname`; check ok() after.
  Conn(const std::string& addr, Dialect d, const std::string& aname = "",
       uint32_t msize = 512 * 1024) {
    ClientOptions o;
    o.dialect = d;
    o.msize = msize;
    o.call_timeout = std::chrono::milliseconds(20000);
    auto c = Client::Connect(addr, o);
    if (!c.ok()) {
      err_ = c.status();
      return;
    }
    client_ = std::move(*c);
    auto r = client_->Attach("root", aname, d == Dialect::k9P2000L ? 0 : NONUNAME);
    if (!r.ok()) {
      err_ = r.status();
      return;
    }
    root_ = std::move(*r);
  }
  ~Conn() {
    root_ = Fid();
    client_.reset();
  }
  bool ok() const { return root_.valid(); }
  const Status& error() const { return err_; }
  Client& client() { return *client_; }
  Fid& root() { return root_; }
  bool L() const { return client_->dialect() == Dialect::k9P2000L; }

  // Walks a slash path from the root.
  Result<Fid> Walk(const std::string& path) { return root_.Walk(path); }

  // Sends any T-message and waits.
  Result<Reply> Call(const Body& t) { return client_->CallSync(t); }
  // The errno of a call (0 on success).
  int Errno(const Body& t) {
    auto r = Call(t);
    return r.ok() ? 0 : r.status().err();
  }

  // Walks names (exactly as given, '/' and NUL included) from fid to a new
  // fid number; returns the qids or the error. On a full walk *newfid is the
  // new fid (clunk it with Clunk).
  Result<std::vector<Qid>> WalkRaw(uint32_t fid, const std::vector<std::string>& names,
                                   uint32_t* newfid) {
    *newfid = client_->AllocFid();
    Twalk t{fid, *newfid, {}};
    for (auto& n : names) t.wname.push_back(n);
    auto r = Call(t);
    if (!r.ok()) {
      client_->FreeFid(*newfid);
      return r.status();
    }
    std::vector<Qid> q;
    for (auto& x : std::get<Rwalk>(r->msg.body).wqid) q.push_back(x);
    if (q.size() != names.size()) client_->FreeFid(*newfid);
    return q;
  }
  // Clunks a fid number from WalkRaw.
  void Clunk(uint32_t fid) {
    // Rclunk or Rerror, the fid is gone (clunk(5)): nothing to check.
    Call(Tclunk{fid}).IgnoreError();
    client_->FreeFid(fid);
  }

  // Reads a whole file (walk, open OREAD, read to EOF).
  Result<std::string> ReadFile(const std::string& path) {
    auto f = Walk(path);
    if (!f.ok()) return f.status();
    Status s = f->Open(OREAD);
    if (!s.ok()) return s;
    std::string out;
    std::vector<uint8_t> buf(1 << 16);
    for (uint64_t off = 0;;) {
      auto n = f->ReadOnce(off, buf);
      if (!n.ok()) return n.status();
      if (*n == 0) break;
      out.append(reinterpret_cast<char*>(buf.data()), *n);
      off += *n;
    }
    return out;
  }
  // The names in a directory (read through the Fid facade).
  Result<std::set<std::string>> List(const std::string& path) {
    auto f = path.empty() ? root_.Walk("") : Walk(path);
    if (!f.ok()) return f.status();
    Status s = f->Open(OREAD);
    if (!s.ok()) return s;
    auto d = f->ReadDir();
    if (!d.ok()) return d.status();
    std::set<std::string> names;
    for (auto& e : *d) names.insert(e.name);
    return names;
  }

 private:
  std::unique_ptr<Client> client_;
  Fid root_;
  Status err_;
};

// The errno of a Status or Result.
inline int ErrOf(const Status& s) { return s.err(); }
template <class T>
int ErrOf(const Result<T>& r) {
  return r.ok() ? 0 : r.status().err();
}

// lstat of a local path (st_mode 0 when missing).
inline struct stat LStat(const std::string& p) {
  struct stat st {};
  if (lstat(p.c_str(), &st) != 0) st.st_mode = 0;
  return st;
}

// A span over a string's bytes.
inline std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A fixture for tests in both dialects: a fresh exportfs over an empty
// directory and a connection to it in the dialect under test.
class ExportTest : public ::testing::TestWithParam<Dialect> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(srv_.Start());
    c_ = std::make_unique<Conn>(srv_.addr(), GetParam());
    ASSERT_TRUE(c_->ok()) << c_->error().message();
  }
  // A path in the exported directory.
  std::string P(const std::string& rel) { return srv_.Path(rel); }

  ExportServer srv_;
  std::unique_ptr<Conn> c_;
};

// The dialect's name, for parameterised test names.
inline std::string DialectName(const ::testing::TestParamInfo<Dialect>& i) {
  return i.param == Dialect::k9P2000L ? "Dotl" : "Base";
}

}  // namespace ninep::testing

#endif  // NINEP_TESTS_EXPORTFS_EXFS_H_
