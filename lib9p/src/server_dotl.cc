// server_dotl.cc: dispatch of the 9P2000.L messages that have no 9P2000
// counterpart in FileServer's required methods: they go to the optional
// hooks, whose defaults (server_defaults.cc) build them from base calls.
#include <cerrno>
#include <optional>

#include "server_conn.h"

namespace ninep {

namespace {

// A FileServer hook and the request type it takes.
template <class R>
struct Hook {
  using ReqType = R;
  void (FileServer::*fn)(R);
};

}  // namespace

void Connection::Dotl(const StatePtr& st) {
  const Message& m = st->in;
  FileServer* fs = srv_->fs;

  // Sends `body` built from the hook's answer, or the error.
  auto reply = [this, st](const Status& s, Body body) {
    if (!s.ok()) return Finish(st.get(), s, nullptr);
    Message out;
    out.tag = st->in.tag;
    out.body = std::move(body);
    Finish(st.get(), Status(), &out);
  };

  // Calls a hook with the message and its resolved fids; make_body turns the
  // hook's answer into the reply body. A message with a second fid must name
  // a live one (NOFID too is unknown there: hooks rely on fid2).
  auto call = [&](auto tmsg, uint32_t fid, std::optional<uint32_t> fid2, auto method,
                  auto make_body) {
    using Req = typename std::remove_reference_t<decltype(method)>::ReqType;
    using Out = typename Req::OutType;
    FidRef f = GetFid(st, fid);
    if (!f) return;
    FidRef f2;
    if (fid2) {
      f2 = GetFid(st, *fid2);
      if (!f2) return;
    }
    Req r(st, OnLoop<Out>(st, [reply, make_body](Result<Out> o) {
            if (!o.ok()) return reply(o.status(), Rflush{});
            reply(Status(), make_body(*o));
          }));
    r.in = tmsg;
    r.fid = f;
    r.fid2 = f2;
    (fs->*(method.fn))(std::move(r));
  };

  switch (m.type()) {
    case kTstatfs: {
      auto t = std::get<Tstatfs>(m.body);
      return call(t, t.fid, std::nullopt, Hook<StatfsReq>{&FileServer::Statfs},
                  [](const Rstatfs& r) { return Body(r); });
    }
    case kTsymlink: {
      auto t = std::get<Tsymlink>(m.body);
      return call(t, t.fid, std::nullopt, Hook<SymlinkReq>{&FileServer::Symlink},
                  [](const Qid& q) { return Body(Rsymlink{q}); });
    }
    case kTmknod: {
      auto t = std::get<Tmknod>(m.body);
      return call(t, t.dfid, std::nullopt, Hook<MknodReq>{&FileServer::Mknod},
                  [](const Qid& q) { return Body(Rmknod{q}); });
    }
    case kTrename: {
      auto t = std::get<Trename>(m.body);
      return call(t, t.fid, t.dfid, Hook<RenameReq>{&FileServer::Rename},
                  [](const Empty&) { return Body(Rrename{}); });
    }
    case kTreadlink: {
      auto t = std::get<Treadlink>(m.body);
      // The target string must outlive the encode: the reply is built and
      // sent inside the callback, while the string is alive.
      return call(t, t.fid, std::nullopt, Hook<ReadlinkReq>{&FileServer::Readlink},
                  [](const std::string& s) { return Body(Rreadlink{s}); });
    }
    case kTlink: {
      auto t = std::get<Tlink>(m.body);
      return call(t, t.dfid, t.fid, Hook<LinkReq>{&FileServer::Link},
                  [](const Empty&) { return Body(Rlink{}); });
    }
    case kTrenameat: {
      auto t = std::get<Trenameat>(m.body);
      if (t.newname.empty() || t.newname == "." || t.newname == ".." ||
          t.newname.find('/') != std::string_view::npos)
        return Finish(st.get(), Status(EINVAL, "illegal name"), nullptr);
      return call(t, t.olddirfid, t.newdirfid, Hook<RenameatReq>{&FileServer::Renameat},
                  [](const Empty&) { return Body(Rrenameat{}); });
    }
    case kTunlinkat: {
      auto t = std::get<Tunlinkat>(m.body);
      return call(t, t.dirfd, std::nullopt, Hook<UnlinkatReq>{&FileServer::Unlinkat},
                  [](const Empty&) { return Body(Runlinkat{}); });
    }
    case kTmkdir: {
      auto t = std::get<Tmkdir>(m.body);
      if (t.name.empty() || t.name == "." || t.name == ".." ||
          t.name.find('/') != std::string_view::npos)
        return Finish(st.get(), Status(EINVAL, "illegal name"), nullptr);
      return call(t, t.dfid, std::nullopt, Hook<MkdirReq>{&FileServer::Mkdir},
                  [](const Qid& q) { return Body(Rmkdir{q}); });
    }
    case kTfsync: {
      auto t = std::get<Tfsync>(m.body);
      return call(t, t.fid, std::nullopt, Hook<FsyncReq>{&FileServer::Fsync},
                  [](const Empty&) { return Body(Rfsync{}); });
    }
    case kTlock: {
      auto t = std::get<Tlock>(m.body);
      return call(t, t.fid, std::nullopt, Hook<LockReq>{&FileServer::Lock},
                  [](const uint8_t& s) { return Body(Rlock{s}); });
    }
    case kTgetlock: {
      auto t = std::get<Tgetlock>(m.body);
      return call(t, t.fid, std::nullopt, Hook<GetlockReq>{&FileServer::Getlock},
                  [](const Rgetlock& r) { return Body(r); });
    }
    case kTxattrwalk: {
      auto t = std::get<Txattrwalk>(m.body);
      FidRef f = GetFid(st, t.fid);
      if (!f) return;
      if (Status s = RoomForFid(t.newfid, t.fid); !s.ok()) return Finish(st.get(), s, nullptr);
      auto nf = std::make_shared<SrvFid>();
      nf->num = t.newfid;
      nf->uname = f->uname;
      nf->n_uname = f->n_uname;
      nf->qid = f->qid;
      nf->qid.type = QTFILE;  // an xattr fid is read like a file
      uint32_t fidnum = t.fid;
      XattrwalkReq r(st, OnLoop<uint64_t>(st, [this, st, nf, fidnum](Result<uint64_t> size) {
                       if (!size.ok()) return Finish(st.get(), size.status(), nullptr);
                       if (Status s = RoomForFid(nf->num, fidnum); !s.ok())
                         return Finish(st.get(), s, nullptr);
                       nf->omode = OREAD;  // read without Tlopen, as Linux does
                       fids_[nf->num] = nf;
                       Message out;
                       out.tag = st->in.tag;
                       out.body = Rxattrwalk{*size};
                       Finish(st.get(), Status(), &out);
                     }));
      r.in = t;
      r.fid = f;
      r.fid2 = nf;
      fs->Xattrwalk(std::move(r));
      return;
    }
    case kTxattrcreate: {
      auto t = std::get<Txattrcreate>(m.body);
      FidRef f = GetFid(st, t.fid);
      if (!f) return;
      XattrcreateReq r(st, OnLoop<Empty>(st, [this, st, f](const Result<Empty>& e) {
                         if (!e.ok()) return Finish(st.get(), e.status(), nullptr);
                         f->omode = OWRITE;  // the value is written through this fid
                         f->qid.type = QTFILE;
                         Message out;
                         out.tag = st->in.tag;
                         out.body = Rxattrcreate{};
                         Finish(st.get(), Status(), &out);
                       }));
      r.in = t;
      r.fid = f;
      fs->Xattrcreate(std::move(r));
      return;
    }
    default:
      return Finish(st.get(),
                    Status(EOPNOTSUPP, "unexpected message " + std::string(MsgTypeName(m.type()))),
                    nullptr);
  }
}

}  // namespace ninep
