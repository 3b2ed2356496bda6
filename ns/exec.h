// exec.h: `ns exec`: make a namespace, apply operations, run a command in
// it, and leave nothing behind when the command ends.
//
// Process layout (the parent of each waits for it):
//   ns exec      the caller's mount namespace; makes the user namespace
//                (when not root) and the PID namespace, removes the run
//                directory at the end
//   helper       pid 1 of the new PID namespace, in the new mount
//                namespace; applies the operations, serves `ns bind` etc.,
//                parents the union server and mount9p; when the command
//                exits it exits, and the kernel kills whatever is left in
//                the PID namespace and drops the mount namespace
//   command      CMD, forked by the helper, without its capabilities
#ifndef NS_EXEC_H_
#define NS_EXEC_H_

#include <string>
#include <vector>

namespace ns {

// One -f or -e, in command-line order.
struct Source {
  bool file = false;  // true: text is a file name; false: one operation
  std::string text;
};

// Runs `ns exec`: returns 1 with a message if the namespace cannot be made;
// once it ran, exits the process with CMD's status (see exec.cc for why).
int RunExec(const std::vector<Source>& sources, std::vector<std::string> cmd);

}  // namespace ns

#endif  // NS_EXEC_H_
