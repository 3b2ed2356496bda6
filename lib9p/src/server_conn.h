// server_conn.h: Connection, one client's session: its tag and fid tables,
// version state, request dispatch and answer bookkeeping.
// Thread-safety: loop thread only. Answers from other threads reach it
// through Server::Impl::RunOnLoop.
#ifndef NINEP_SRC_SERVER_CONN_H_
#define NINEP_SRC_SERVER_CONN_H_

#include <memory>
#include <unordered_map>
#include <vector>

#include "server_internal.h"

namespace ninep {

// One client connection served by a Server.
class Connection {
 public:
  Connection(Server::Impl* srv, std::unique_ptr<Conn> c);
  ~Connection();

  // Starts reading requests.
  void Start();
  // Ends the session: aborts requests, clunks fids, closes the stream.
  void Shutdown();

  using StatePtr = std::shared_ptr<internal::ReqState>;

 private:
  void OnFrame(std::span<const uint8_t> frame);
  void OnClosed(const Status& s);
  void Dispatch(const StatePtr& st);

  // Answer plumbing.
  void Send(const Message& m);
  void SendBytes(Buffer bytes, const Message* for_trace);
  void SendError(uint16_t tag, const Status& s);
  // Completes the request st (loop thread): sends `reply` (or the error) if
  // the session still wants it, then any Rflush waiting on it.
  void Finish(internal::ReqState* st, const Status& err, const Message* reply);
  void FinishBytes(internal::ReqState* st, Buffer bytes, const Message* trace_msg);
  void AfterFinish(internal::ReqState* st, bool failed);
  // Drops every request and fid (Tversion and the end of the session).
  void Reset();
  void CheckPressure();
  // Gives back what st was charged against max_inflight and
  // max_inflight_bytes when it entered the tag table.
  void Uncharge(internal::ReqState* st);
  // The answer of a request a Tversion abandoned came back: its work is
  // over, so it no longer counts against the limits.
  void AbandonedAnswered(internal::ReqState* st);
  // OK when fid `num` may be added to the table: it is not in use (unless it
  // is `replaces`, which it then replaces) and the table is below max_fids.
  Status RoomForFid(uint32_t num, uint32_t replaces = NOFID) const;
  // Access policy (server_access.cc): OK, or the error m is refused with
  // (logged): attach by a user other than the TLS identity or outside
  // --allow, a change by a --readonly user.
  Status CheckAccess(const Message& m);
  Status CheckAttach(std::string_view uname, uint32_t n_uname) const;
  // The trace prefix with its separator ("exportfs "), or "".
  std::string Prefix() const;

  // Looks up a fid; sends an error and returns null when unknown.
  FidRef GetFid(const StatePtr& st, uint32_t num);

  // Builds the Done callback of a request: `on_loop` runs on the loop thread
  // with the result, only if the session still wants an answer.
  template <class Out, class F>
  std::function<void(Result<Out>)> OnLoop(const StatePtr& st, F on_loop);

  // Per-message handlers.
  void Version(const StatePtr& st, const Tversion& t);
  void Attach(const StatePtr& st, const Tattach& t, bool auth);
  void Flush(const StatePtr& st, const Tflush& t);
  void Walk(const StatePtr& st, const Twalk& t);
  void Open(const StatePtr& st, uint32_t fid, uint8_t mode, uint32_t lflags, bool dotl);
  void Create(const StatePtr& st, uint32_t fid, std::string_view name, uint32_t perm, uint8_t mode,
              uint32_t lflags, uint32_t gid, bool dotl);
  void FinishOpen(const StatePtr& st, const FidRef& f, uint8_t mode, uint32_t lflags,
                  const Result<OpenOut>& o, uint8_t rtype);
  void Read(const StatePtr& st, const Tread& t);
  void ReadDir(const StatePtr& st, const FidRef& f, uint64_t cookie, uint32_t count, bool dotl,
               uint64_t offset);
  void Write(const StatePtr& st, const Twrite& t);
  void Clunk(const StatePtr& st, uint32_t fid, bool remove);
  void StatFid(const StatePtr& st, uint32_t fid, bool getattr, uint64_t mask);
  void WstatFid(const StatePtr& st, uint32_t fid, const ninep::Stat& d, const Tsetattr* sa);
  void Dotl(const StatePtr& st);

  Server::Impl* srv_;
  std::unique_ptr<Conn> conn_;
  std::shared_ptr<internal::ConnShared> cs_;
  bool versioned_ = false;
  bool closed_ = false;
  Dialect dialect_ = Dialect::k9P2000;
  uint32_t msize_ = 8192;
  std::unordered_map<uint32_t, FidRef> fids_;
  std::unordered_map<uint16_t, StatePtr> tags_;
  uint64_t id_ = 0;        // for trace lines
  size_t inflight_ = 0;    // requests in tags_ (Tflushes included)
  size_t abandoned_ = 0;   // requests a Tversion abandoned, not answered yet
  size_t held_bytes_ = 0;  // frames and reserved answers of both
  bool paused_ = false;
};

template <class Out, class F>
std::function<void(Result<Out>)> Connection::OnLoop(const StatePtr& st, F on_loop) {
  Server::Impl* srv = srv_;
  auto fn = std::make_shared<F>(std::move(on_loop));
  return [srv, st, fn](Result<Out> r) {
    srv->RunOnLoop([st, fn, r = std::move(r)]() mutable {
      if (st->conn == nullptr) {  // flushed by a reset or the session's end
        if (st->abandoned && st->cs->owner) st->cs->owner->AbandonedAnswered(st.get());
        return;
      }
      (*fn)(std::move(r));
    });
  };
}

}  // namespace ninep

#endif  // NINEP_SRC_SERVER_CONN_H_
