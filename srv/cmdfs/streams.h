// streams.h: the pipes between cmdfs and a command, as 9P sees them.
//
// ReadQueue holds reads that wait for data (answered later, or failed when
// the client flushes them). OutStream reads a command's stdout or stderr
// into a bounded buffer and answers reads from it: when the buffer is full
// it stops reading the pipe, so the command blocks in write(2) and no output
// is lost however slow the client. InStream writes the data file's bytes to
// the command's stdin, answering each Twrite once its bytes are in the pipe
// (so a command that does not read holds the writer, not cmdfs's memory).
// Thread-safety: loop thread only.
#ifndef NINEFOLD_SRV_CMDFS_STREAMS_H_
#define NINEFOLD_SRV_CMDFS_STREAMS_H_

#include <uv.h>

#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <string>

#include "ninep/server.h"

namespace cmdfs {

// Reads waiting for data, in arrival order. Flushed reads leave the queue
// and are answered with an error at once.
class ReadQueue : public std::enable_shared_from_this<ReadQueue> {
 public:
  // Queues r; it is answered by whoever pops it, or fails when flushed.
  void Add(ninep::ReadReq r);
  // True when no read waits.
  bool empty() const { return q_.empty(); }
  // The oldest waiting read. REQUIRES: !empty().
  ninep::ReadReq Pop();
  // Answers every waiting read with `n` = 0 (EOF).
  void AnswerAllEof();

 private:
  std::deque<std::pair<uint64_t, ninep::ReadReq>> q_;
  uint64_t next_id_ = 1;
};

// One output pipe of a command (stdout or stderr).
class OutStream {
 public:
  // cap: the most bytes buffered before the pipe is left unread.
  OutStream(uv_loop_t* loop, size_t cap);
  ~OutStream();
  OutStream(const OutStream&) = delete;
  OutStream& operator=(const OutStream&) = delete;

  // Takes the pipe's read end and starts reading. Errors when libuv refuses it.
  ninep::Status Attach(int fd);
  // Answers r with buffered bytes, or 0 at EOF, or later when data comes.
  void Read(ninep::ReadReq r);
  // No more data will ever come (the command never started, or the
  // directory is going away): closes the pipe, answers waiting reads.
  void Finish();
  // True while the pipe is open (someone may still write to it).
  bool open() const { return pipe_ != nullptr; }
  // Bytes waiting to be read.
  size_t buffered() const { return buf_.size() - head_; }

 private:
  struct Handle;
  void OnData(const char* p, size_t n);
  void OnEnd();
  void StartReading();
  void StopReading();
  size_t Take(uint8_t* dst, size_t n);

  uv_loop_t* loop_;
  size_t cap_;
  Handle* pipe_ = nullptr;
  bool reading_ = false;
  bool eof_ = false;
  std::string buf_;
  size_t head_ = 0;
  std::shared_ptr<ReadQueue> readers_ = std::make_shared<ReadQueue>();
};

// The command's stdin.
class InStream {
 public:
  explicit InStream(uv_loop_t* loop);
  ~InStream();
  InStream(const InStream&) = delete;
  InStream& operator=(const InStream&) = delete;

  // Takes the pipe's write end; queued writes start flowing.
  ninep::Status Attach(int fd);
  // Queues the bytes of r (copied); r is answered once they are in the pipe,
  // or fails (EPIPE) when the command stops reading for good.
  void Write(ninep::WriteReq r);
  // Gives the command EOF once queued writes are done; later writes fail.
  void CloseWhenDrained();
  // Fails every queued write with s and closes the pipe.
  void Abort(const ninep::Status& s);
  // True once CloseWhenDrained or Abort was called.
  bool closing() const { return closing_; }

 private:
  struct Handle;
  struct Entry;
  struct Shared;
  void Pump();
  void ClosePipe();

  uv_loop_t* loop_;
  Handle* pipe_ = nullptr;
  bool attached_ = false;
  bool closing_ = false;
  // Shared with flush hooks and with the write in the pipe, which may finish
  // after this stream is gone.
  std::shared_ptr<Shared> sh_;
  uint64_t next_id_ = 1;
};

}  // namespace cmdfs

#endif  // NINEFOLD_SRV_CMDFS_STREAMS_H_
