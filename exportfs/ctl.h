// ctl.h: exportfs's synthetic `ctl` tree (aname "ctl"), as diod serves one:
// `zero` (endless zeros), `null` (takes writes, reads empty), `version`, and
// the server's live statistics: `connections`, `bytes`, `ops`.
// Thread-safety: build before the Server runs; see synth.h.
#ifndef NINEFOLD_EXPORTFS_CTL_H_
#define NINEFOLD_EXPORTFS_CTL_H_

#include <memory>

#include "ninep/synth.h"

namespace exportfs {

// The ctl tree; its statistics come from the Server it is Started on.
std::unique_ptr<ninep::SynthTree> MakeCtlTree();

}  // namespace exportfs

#endif  // NINEFOLD_EXPORTFS_CTL_H_
