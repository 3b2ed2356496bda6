// store_rig.h: a whole store of real processes for storefs's integration
// tests: chunkd servers on unix sockets in a temp dir (so a restarted one
// keeps its address), bin/storefs on 127.0.0.1 port 0 with short heartbeat
// timeouts, 9P clients to it, and bounded waits on its ctl.
// Thread-safety: one Rig per test; Connect/Ctl from any thread.
#ifndef NINEP_TESTS_STORE_STORE_RIG_H_
#define NINEP_TESTS_STORE_STORE_RIG_H_

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "ninep/client.h"
#include "testutil.h"

namespace ninep::testing {

class StoreRig {
 public:
  StoreRig() = default;
  StoreRig(const StoreRig&) = delete;
  StoreRig& operator=(const StoreRig&) = delete;
  ~StoreRig() {
    for (auto& c : chunkd_)
      if (c) c->Signal(SIGCONT);
    for (auto& f : fronts_)
      if (f) f->Signal(SIGCONT);
    if (storefs_)
      storefs_->Signal(SIGCONT);  // a stopped child would not die of SIGKILL's reap wait otherwise
  }

  const std::string& dir() const { return tmp_.path(); }
  std::string ChunkDir(int i) const { return dir() + "/c" + std::to_string(i); }
  std::string ChunkAddr(int i) const { return "unix!" + ChunkDir(i) + ".sock"; }
  Process& chunkd(int i) { return *chunkd_[i]; }
  Process& storefs() { return *storefs_; }
  const std::string& addr() const { return addr_; }

  // Starts chunkd i (again, after a kill) on its socket and waits until it listens.
  bool StartChunkd(int i, std::vector<std::string> extra = {}) {
    if (static_cast<int>(chunkd_.size()) <= i) chunkd_.resize(i + 1);
    mkdir(ChunkDir(i).c_str(), 0755);
    std::string sock = ChunkDir(i) + ".sock";
    unlink(sock.c_str());
    chunkd_[i] = std::make_unique<Process>();
    std::vector<std::string> argv{Bin("chunkd"), "-a", "unix!" + sock, "-d", ChunkDir(i)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    if (!chunkd_[i]->Start(argv)) return false;
    return WaitFor([&] { return Listening(sock) || !chunkd_[i]->Running(); }, 10000) &&
           chunkd_[i]->Running();
  }
  // Starts chunkd 0..n-1.
  bool StartChunkds(int n) {
    for (int i = 0; i < n; i++)
      if (!StartChunkd(i)) return false;
    return true;
  }
  // Starts storefs on every chunkd started so far, with the test timeouts
  // (heartbeat 0.2 s, dead after 2 s, calls bounded at 2 s) and 64 KiB
  // chunks unless `flags` say otherwise. Returns false if it does not come up.
  bool StartStorefs(const std::vector<std::string>& flags = {}) {
    storefs_ = std::make_unique<Process>();  // the old one, if any, is killed
    addr_ = StartServer(storefs_.get(), "storefs", StorefsArgs("/meta", flags));
    return !addr_.empty();
  }
  // Starts storefs front end i >= 1 beside the first, over the same chunkds
  // with the same test flags plus `flags` (a shared store: --meta etcd!...);
  // returns its address, "" if it does not come up.
  std::string StartFront(size_t i, const std::vector<std::string>& flags) {
    if (fronts_.size() <= i) fronts_.resize(i + 1);
    if (front_addrs_.size() <= i) front_addrs_.resize(i + 1);
    fronts_[i] = std::make_unique<Process>();
    front_addrs_[i] =
        StartServer(fronts_[i].get(), "storefs", StorefsArgs("/meta" + std::to_string(i), flags));
    return front_addrs_[i];
  }
  // Whether StartStorefs and StartFront name the chunkds with -c (not when
  // they are to be found through their registrations in etcd).
  void set_list_chunkds(bool on) { list_chunkds_ = on; }
  // Front end i (0 is storefs()).
  Process& front(size_t i) { return i == 0 ? *storefs_ : *fronts_[i]; }
  const std::string& front_addr(size_t i) const { return i == 0 ? addr_ : front_addrs_[i]; }

  // A 9P2000.L (or 9P2000) connection and its root.
  struct Conn {
    std::unique_ptr<Client> client;
    Fid root;
    ~Conn() {
      if (root.valid()) (void)root.Clunk();
    }
  };
  std::unique_ptr<Conn> Connect(bool dotl = true, const std::string& aname = "") {
    return ConnectAt(addr_, dotl, aname);
  }
  std::unique_ptr<Conn> ConnectAt(const std::string& addr, bool dotl = true,
                                  const std::string& aname = "") {
    ClientOptions o;
    o.dialect = dotl ? Dialect::k9P2000L : Dialect::k9P2000;
    o.call_timeout = std::chrono::milliseconds(60000);
    return Dial(addr, o, aname);
  }
  // A 9P2000.L connection to chunkd i and its root (nullptr if it does not
  // answer within the client's default call timeout).
  std::unique_ptr<Conn> ConnectChunkd(int i) {
    ClientOptions o;
    o.dialect = Dialect::k9P2000L;
    return Dial(ChunkAddr(i), o, "");
  }
  // The replica names chunkd i lists in chunks/, sorted, or nullopt when it
  // does not answer.
  std::optional<std::vector<std::string>> ReplicaNames(int i) {
    auto c = ConnectChunkd(i);
    if (!c) return std::nullopt;
    auto d = c->root.Walk("chunks");
    if (!d.ok() || !d->Open(OREAD).ok()) return std::nullopt;
    auto ents = d->ReadDir();
    if (!ents.ok()) return std::nullopt;
    std::vector<std::string> names;
    for (const auto& e : *ents) names.push_back(e.name);
    std::sort(names.begin(), names.end());
    return names;
  }
  // The number after key in chunkd i's ctl (~0 when it does not answer).
  uint64_t ChunkdCtlNum(int i, const std::string& key) {
    auto c = ConnectChunkd(i);
    if (!c) return ~0ull;
    auto f = c->root.Walk("ctl");
    std::string buf(65536, '\0');
    if (!f.ok() || !f->Open(OREAD).ok()) return ~0ull;
    auto n = f->Read(0, std::span<uint8_t>(reinterpret_cast<uint8_t*>(buf.data()), buf.size()));
    if (!n.ok()) return ~0ull;
    std::string t = "\n" + buf.substr(0, *n);
    size_t at = t.find("\n" + key + " ");
    return at == std::string::npos ? ~0ull : strtoull(t.c_str() + at + key.size() + 2, nullptr, 10);
  }
  // The word after `field` in storefs's ctl line for chunkd i ("" if none).
  std::string ServerField(int i, const std::string& field) {
    auto m = Ctl();
    auto it = m.find("server " + ChunkAddr(i));
    if (it == m.end()) return "";
    std::istringstream in(it->second);
    for (std::string w; in >> w;)
      if (w == field && in >> w) return w;
    return "";
  }
  // A connection to addr with options o, attached to aname.
  static std::unique_ptr<Conn> Dial(const std::string& addr, const ClientOptions& o,
                                    const std::string& aname) {
    auto c = Client::Connect(addr, o);
    if (!c.ok()) return nullptr;
    auto conn = std::make_unique<Conn>();
    conn->client = std::move(*c);
    auto r = conn->client->Attach("tester", aname);
    if (!r.ok()) return nullptr;
    conn->root = std::move(*r);
    return conn;
  }

  // ctl as key -> rest of line (the first word of each line is its key;
  // "server", "latency" and "policy" lines add their second word).
  std::map<std::string, std::string> Ctl(const std::string& at = "") {
    std::map<std::string, std::string> out;
    auto c = ConnectAt(at.empty() ? addr_ : at, true, "ctl");
    if (!c) return out;
    auto f = c->root.Walk("ctl");
    if (!f.ok() || !f->Open(OREAD).ok()) return out;
    std::string text;
    uint8_t buf[65536];
    for (;;) {
      auto n = f->Read(text.size(), buf);
      if (!n.ok() || *n == 0) break;
      text.append(reinterpret_cast<char*>(buf), *n);
    }
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      std::string k = line.substr(0, line.find(' '));
      std::string v = line.find(' ') == std::string::npos ? "" : line.substr(line.find(' ') + 1);
      if (k == "server" || k == "latency" || k == "policy") {
        k += " " + v.substr(0, v.find(' '));
        v = v.substr(v.find(' ') + 1);
      }
      out[k] = v;
    }
    return out;
  }
  uint64_t CtlNum(const std::string& key) {
    auto m = Ctl();
    auto it = m.find(key);
    return it == m.end() ? ~0ull : strtoull(it->second.c_str(), nullptr, 10);
  }
  // Writes a ctl message; returns the status.
  Status CtlWrite(const std::string& msg) {
    auto c = Connect(true, "ctl");
    if (!c) return Status(EIO, "connect");
    auto f = c->root.Walk("ctl");
    if (!f.ok()) return f.status();
    if (Status s = f->Open(OWRITE); !s.ok()) return s;
    auto n = f->Write(
        0, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(msg.data()), msg.size()));
    return n.ok() ? Status() : n.status();
  }

  static bool Listening(const std::string& path) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(fd);
    return ok;
  }

 private:
  std::vector<std::string> StorefsArgs(const std::string& meta,
                                       const std::vector<std::string>& flags) {
    std::string cs;
    for (size_t i = 0; i < chunkd_.size(); i++)
      cs += (i ? "," : "") + ChunkAddr(static_cast<int>(i));
    std::vector<std::string> args{"-d", dir() + meta, "--heartbeat", "0.2",     "--dead-after",
                                  "2",  "--timeout",  "2",           "--chunk", "64k"};
    if (list_chunkds_) args.insert(args.end(), {"-c", cs});
    args.insert(args.end(), flags.begin(), flags.end());
    return args;
  }

  TempDir tmp_;
  std::vector<std::unique_ptr<Process>> chunkd_;
  std::unique_ptr<Process> storefs_ = std::make_unique<Process>();
  std::string addr_;
  std::vector<std::unique_ptr<Process>> fronts_;
  std::vector<std::string> front_addrs_;
  bool list_chunkds_ = true;
};

// Flips one byte near the end of every replica file under dir (a chunkd's
// directory); returns how many it flipped.
inline int FlipReplicas(const std::string& dir) {
  int n = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file() || e.path().filename().string().find('.') != std::string::npos)
      continue;
    if (e.path().parent_path().filename() != "chunks") continue;
    auto size = e.file_size();
    if (size < 1000) continue;
    int fd = open(e.path().c_str(), O_RDWR);
    if (fd < 0) continue;
    char b;
    if (pread(fd, &b, 1, static_cast<off_t>(size - 100)) == 1) {
      b ^= 0x01;
      if (pwrite(fd, &b, 1, static_cast<off_t>(size - 100)) == 1) n++;
    }
    close(fd);
  }
  return n;
}

// A byte pattern that differs per (seed, offset), to tell whose data a read returned.
inline std::string Pattern(uint64_t seed, uint64_t off, size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i++) {
    uint64_t x = (off + i) * 0x9E3779B97F4A7C15ull ^ seed * 0xBF58476D1CE4E5B9ull;
    s[i] = static_cast<char>(x >> 56);
  }
  return s;
}

inline std::span<const uint8_t> Bytes(const std::string& s) {
  return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// Creates (or truncates) path under root and writes data.
inline Status PutFile(const Fid& root, const std::string& path, const std::string& data) {
  std::string dir = path.rfind('/') == std::string::npos ? "" : path.substr(0, path.rfind('/'));
  std::string name = path.substr(path.rfind('/') + 1);
  auto f = root.Walk(path);
  if (f.ok()) {
    if (Status s = f->Open(OWRITE | OTRUNC); !s.ok()) return s;
  } else {
    auto d = root.Walk(dir);
    if (!d.ok()) return d.status();
    if (Status s = d->Create(name, 0644, ORDWR); !s.ok()) return s;
    f = std::move(d);
  }
  auto n = f->Write(0, Bytes(data));
  return n.ok() ? Status() : n.status();
}

// Reads a whole file.
inline Result<std::string> GetFile(const Fid& root, const std::string& path) {
  auto f = root.Walk(path);
  if (!f.ok()) return f.status();
  if (Status s = f->Open(OREAD); !s.ok()) return s;
  std::string out;
  std::string buf(1 << 20, '\0');
  for (;;) {
    auto n =
        f->Read(out.size(), std::span<uint8_t>(reinterpret_cast<uint8_t*>(buf.data()), buf.size()));
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    out.append(buf.data(), *n);
  }
  return out;
}

}  // namespace ninep::testing

#endif  // NINEP_TESTS_STORE_STORE_RIG_H_
