// namespace.h: one Linux mount namespace run the Plan 9 way: the state the
// namespace's helper process keeps (its operation log, the unions it made,
// the mounts it stacked on each path) and the code that applies an Op.
//
// A Namespace lives in the helper process (pid 1 of the namespace's PID
// namespace), which holds the capabilities the operations need; it is
// single-threaded, so it may fork (the union server, mount9p) at any time.
#ifndef NS_NAMESPACE_H_
#define NS_NAMESPACE_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ns/nsfile.h"

namespace ns {

// What applying ops leaves for the command ns exec starts.
struct ExecState {
  std::string cwd;  // the last `cd`, made absolute ("" when none)
};

class UnionBackend;

// The namespace of the calling process, changed by Apply.
class Namespace {
 public:
  // rundir: a directory private to this namespace (a tmpfs) for mount
  // points no one else sees; bindir: where mount9p is.
  Namespace(std::string rundir, std::string bindir);
  ~Namespace();
  Namespace(const Namespace&) = delete;
  Namespace& operator=(const Namespace&) = delete;

  // Applies op in the current mount namespace, relative paths from cwd.
  // On success the op joins the log (with absolute paths). An error says
  // "verb: path: why" (the caller adds FILE:LINE).
  Status Apply(const Op& op, const std::string& cwd, ExecState* exec);
  // Completes a `clear` begun by Apply: the new root becomes "/". Call after
  // the last op of a batch (a file, or one live operation).
  Status Finish();

  // Stops the union server in order and waits (a few seconds at most) for
  // it: killed mid-request, a FUSE server can hang on its own mount.
  void Shutdown();

  // The log as a namespace file (one op per line, in order).
  std::string Show() const;
  // Starts the log with another namespace's (nested ns exec copies its
  // parent's view, and its record).
  void SetLog(std::vector<std::string> lines) { log_ = std::move(lines); }

 private:
  struct Entry {        // one mount of ours stacked on a path
    std::string label;  // NEW (bind) or ADDR (mount) for `unmount NEW OLD`
    int union_id = -1;  // >= 0: a union served by the union server
  };
  Status Bind(const Op& op, const std::string& neu, const std::string& old);
  Status Mount(const Op& op, const std::string& old);
  Status Unmount(const Op& op, const std::string& neu, const std::string& old);
  Status Clear();
  // Adds the directory fd (taken) as a member of the union at old, making
  // the union first when old is not one of ours.
  Status AddToUnion(const std::string& old, int fd, const std::string& label, const Op& op);
  // Unmounts the private mount9p mounts of union id (label "" = all).
  void DropPrivate(int union_id, const std::string& label);
  Status RunMount9p(const Op& op, const std::string& dir);
  // The path OLD names now: under the pending new root after `clear`.
  std::string Target(const std::string& old) const;

  std::string rundir_, bindir_;
  std::vector<std::string> log_;
  std::map<std::string, std::vector<Entry>> stack_;  // by OLD, as given
  std::unique_ptr<UnionBackend> unions_;
  struct PrivateMount {  // a mount9p mount that is a union member
    int union_id;
    std::string label, dir;
  };
  std::vector<PrivateMount> private_;
  std::string pending_root_;  // a `clear` not yet finished
  int next_dir_ = 0;
};

// Makes p absolute against cwd and drops "." and ".." and repeated slashes
// lexically (as Plan 9's cleanname).
std::string CleanPath(const std::string& p, const std::string& cwd);

}  // namespace ns

#endif  // NS_NAMESPACE_H_
