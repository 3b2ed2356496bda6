// cgroup.cc: per-command cgroups (see cgroup.h).
#include "cmdfs/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "cmdfs/spawn.h"

namespace cmdfs {

namespace {

struct Mount {
  std::string root, point, fstype, opts;
};

std::vector<Mount> CgroupMounts() {
  std::vector<Mount> out;
  std::ifstream f("/proc/self/mountinfo");
  std::string line;
  while (std::getline(f, line)) {
    // id parent maj:min root point opts [optional...] - fstype source superopts
    std::istringstream ss(line);
    std::string id, parent, dev, root, point, opts, w;
    ss >> id >> parent >> dev >> root >> point >> opts;
    while (ss >> w && w != "-") {
    }
    Mount m;
    m.root = root;
    m.point = point;
    ss >> m.fstype >> w >> m.opts;
    if (m.fstype == "cgroup" || m.fstype == "cgroup2") out.push_back(m);
  }
  return out;
}

bool HasToken(const std::string& list, const std::string& tok, char sep) {
  std::stringstream ss(list);
  std::string t;
  while (std::getline(ss, t, sep)) {
    if (t == tok) return true;
  }
  return false;
}

bool WriteFile(const std::string& path, const std::string& data) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = write(fd, data.data(), data.size());
  close(fd);
  return n == static_cast<ssize_t>(data.size());
}

std::string ReadSmall(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The directory of our own cgroup in a mount, given its path from /proc/self/cgroup.
std::string Join(const Mount& m, std::string path) {
  if (m.root != "/" && path.rfind(m.root, 0) == 0) path = path.substr(m.root.size());
  if (path == "/") path.clear();
  return m.point + path;
}

// Removes cmdfs-<pid>/ groups (and their empty cmd-<N>/ groups) left in
// parent by a cmdfs that died without cleaning up (SIGKILL).
void RemoveStale(const std::string& parent) {
  DIR* d = opendir(parent.c_str());
  if (!d) return;
  std::vector<std::string> stale;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name.rfind("cmdfs-", 0) != 0) continue;
    char* end = nullptr;
    long pid = strtol(name.c_str() + 6, &end, 10);
    if (pid <= 0 || *end != '\0' || pid == getpid()) continue;
    if (kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    stale.push_back(parent + "/" + name);
  }
  closedir(d);
  for (const auto& dir : stale) {
    if (DIR* sd = opendir(dir.c_str())) {
      std::vector<std::string> subs;
      while (dirent* e = readdir(sd)) {
        if (std::string(e->d_name).rfind("cmd-", 0) == 0) subs.push_back(dir + "/" + e->d_name);
      }
      closedir(sd);
      for (const auto& sub : subs) rmdir(sub.c_str());
    }
    rmdir(dir.c_str());
  }
}

}  // namespace

std::unique_ptr<CgroupManager> CgroupManager::Detect() {
  auto mounts = CgroupMounts();
  // controller list -> our path, from lines "N:ctrl,ctrl:/path" ("0::/path" for v2).
  std::vector<std::pair<std::string, std::string>> mine;
  {
    std::ifstream f("/proc/self/cgroup");
    std::string line;
    while (std::getline(f, line)) {
      size_t a = line.find(':'), b = line.find(':', a + 1);
      if (a == std::string::npos || b == std::string::npos) continue;
      mine.emplace_back(line.substr(a + 1, b - a - 1), line.substr(b + 1));
    }
  }
  std::string tag = "cmdfs-" + std::to_string(getpid());
  auto mgr = std::unique_ptr<CgroupManager>(new CgroupManager);

  // cgroup v2: one hierarchy, controllers enabled top-down.
  for (const auto& m : mounts) {
    if (m.fstype != "cgroup2") continue;
    for (const auto& [ctrls, path] : mine) {
      if (!ctrls.empty()) continue;
      std::string base = Join(m, path);
      std::string avail = ReadSmall(base + "/cgroup.controllers");
      for (char& c : avail) {
        if (c == '\n') c = ' ';
      }
      bool pids = HasToken(avail, "pids", ' ');
      bool mem = HasToken(avail, "memory", ' ');
      if (!pids && !mem) continue;
      std::string want = std::string(pids ? "+pids " : "") + (mem ? "+memory" : "");
      // Fails when our own cgroup holds processes and is not the root
      // (no internal processes in v2); then v2 is not ours to use.
      WriteFile(base + "/cgroup.subtree_control", want);
      std::string sub = ReadSmall(base + "/cgroup.subtree_control");
      pids = pids && sub.find("pids") != std::string::npos;
      mem = mem && sub.find("memory") != std::string::npos;
      if (!pids && !mem) continue;
      RemoveStale(base);
      std::string dir = base + "/" + tag;
      if (mkdir(dir.c_str(), 0755) < 0 && errno != EEXIST) continue;
      WriteFile(dir + "/cgroup.subtree_control", want);
      mgr->hiers_.push_back(Hier{dir, true, pids, mem});
      return mgr;
    }
  }
  // cgroup v1: a hierarchy per controller (or a few sharing one).
  for (const char* ctrl : {"pids", "memory"}) {
    for (const auto& m : mounts) {
      if (m.fstype != "cgroup" || !HasToken(m.opts, ctrl, ',')) continue;
      for (const auto& [ctrls, path] : mine) {
        if (!HasToken(ctrls, ctrl, ',')) continue;
        std::string dir = Join(m, path) + "/" + tag;
        bool seen = false;
        for (auto& h : mgr->hiers_) {
          if (h.base == dir) {
            (std::string(ctrl) == "pids" ? h.pids : h.memory) = true;
            seen = true;
          }
        }
        if (seen) break;
        RemoveStale(Join(m, path));
        if (mkdir(dir.c_str(), 0755) < 0 && errno != EEXIST) break;
        Hier h{dir, false, false, false};
        (std::string(ctrl) == "pids" ? h.pids : h.memory) = true;
        mgr->hiers_.push_back(h);
        break;
      }
    }
  }
  if (mgr->hiers_.empty()) return nullptr;
  return mgr;
}

CgroupManager::~CgroupManager() {
  for (const auto& d : leftover_) rmdir(d.c_str());
  for (const auto& h : hiers_) rmdir(h.base.c_str());
}

ninep::Result<CmdCgroup> CgroupManager::Create(uint64_t id, const Limits& l) {
  CmdCgroup g;
  for (const auto& h : hiers_) {
    bool use_pids = h.pids && l.procs, use_mem = h.memory && l.mem;
    if (!use_pids && !use_mem) continue;
    std::string dir = h.base + "/cmd-" + std::to_string(id);
    if (mkdir(dir.c_str(), 0755) < 0 && errno != EEXIST) {
      int e = errno;
      Remove(g);
      CloseFds(&g);
      return ninep::Status(e, "cgroup " + dir + ": " + ErrText(e));
    }
    g.dirs.push_back(dir);
    if (use_pids && WriteFile(dir + "/pids.max", std::to_string(l.procs))) g.procs = true;
    if (use_mem) {
      if (h.v2) {
        if (WriteFile(dir + "/memory.max", std::to_string(l.mem))) g.mem = true;
        WriteFile(dir + "/memory.swap.max", "0");
      } else {
        if (WriteFile(dir + "/memory.limit_in_bytes", std::to_string(l.mem))) g.mem = true;
        WriteFile(dir + "/memory.memsw.limit_in_bytes", std::to_string(l.mem));
      }
    }
    int fd = open((dir + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      int e = errno;
      Remove(g);
      CloseFds(&g);
      return ninep::Status(e, "cgroup " + dir + "/cgroup.procs: " + ErrText(e));
    }
    g.procs_fds.push_back(fd);
  }
  return g;
}

void CgroupManager::CloseFds(CmdCgroup* g) {
  for (int fd : g->procs_fds) close(fd);
  g->procs_fds.clear();
}

void CgroupManager::Remove(const CmdCgroup& g) {
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& d : g.dirs) {
    if (rmdir(d.c_str()) < 0 && errno == EBUSY) leftover_.insert(d);
  }
  for (auto it = leftover_.begin(); it != leftover_.end();) {
    if (rmdir(it->c_str()) == 0 || errno == ENOENT) {
      it = leftover_.erase(it);
    } else {
      ++it;
    }
  }
}

std::string CgroupManager::Describe() const {
  std::string s;
  for (const auto& h : hiers_) {
    if (!s.empty()) s += "; ";
    s += std::string(h.v2 ? "cgroup v2 " : "cgroup v1 ") + h.base + " (" + (h.pids ? "pids" : "") +
         (h.pids && h.memory ? "," : "") + (h.memory ? "memory" : "") + ")";
  }
  return s;
}

}  // namespace cmdfs
