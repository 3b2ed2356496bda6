// samples.h: one or more sample messages of every 9P message type, with
// non-default values in every field, for the codec tests, the fuzz corpus
// generator and the codec benchmarks. Views point at static storage.
// Thread-safety: pure functions over constant data.
#ifndef NINEP_TESTS_WIRE_SAMPLES_H_
#define NINEP_TESTS_WIRE_SAMPLES_H_

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "ninep/wire.h"

namespace ninep::testing {

// A packed Rreaddir payload of three entries (".", "..", "hello").
inline std::span<const uint8_t> SampleDirents() {
  static const std::vector<uint8_t> data = [] {
    std::vector<uint8_t> v;
    PutDirent({Qid{QTDIR, 1, 0x10}, 1, 4, "."}, &v);
    PutDirent({Qid{QTDIR, 2, 0x11}, 2, 4, ".."}, &v);
    PutDirent({Qid{QTFILE, 3, 0x12}, 3, 8, "hello"}, &v);
    return v;
  }();
  return data;
}

// A 9P2000 directory-read payload of two stat entries.
inline std::span<const uint8_t> SampleStats() {
  static const std::vector<uint8_t> data = [] {
    std::vector<uint8_t> v;
    PutStat({1, 2, Qid{QTDIR, 3, 4}, DMDIR | 0755, 10, 20, 0, "usr", "glenda", "sys", "glenda"},
            &v);
    PutStat({0, 0, Qid{QTFILE, 1, 5}, 0644, 11, 21, 12, "lib", "bootes", "", ""}, &v);
    return v;
  }();
  return data;
}

// A Stat with every field set.
inline Stat SampleStat() {
  return Stat{0x4d,
              0x1234,
              Qid{QTDIR | QTAPPEND, 7, 0x0102030405060708ULL},
              DMDIR | DMAPPEND | 0750,
              1700000000,
              1700000001,
              0,
              "glenda",
              "glenda",
              "sys",
              "bootes"};
}

// Sample messages of every type. In 9P2000 the 9P2000.L-only types are left
// out and Tauth/Tattach carry NONUNAME (n_uname is not on that wire).
inline std::vector<Message> SampleMessages(Dialect d) {
  static const uint8_t kHello[] = {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd', '\n'};
  static const uint8_t kBinary[] = {0, 1, 2, 0xfe, 0xff, '\'', '\\', 0x7f};
  const bool dotl = d == Dialect::k9P2000L;
  const uint32_t n_uname = dotl ? 1000 : NONUNAME;
  const Qid q1{QTFILE, 1, 0x42};
  const Qid q2{QTDIR, 0xdeadbeef, 0xfedcba9876543210ULL};
  std::vector<Message> v;
  auto add = [&](uint16_t tag, Body b) { v.push_back(Message{tag, std::move(b)}); };

  add(NOTAG, Tversion{8192, dotl ? "9P2000.L" : "9P2000"});
  add(NOTAG, Rversion{4096, "9P2000"});
  add(1, Tauth{7, "glenda", "/srv", n_uname});
  add(1, Rauth{Qid{QTAUTH, 0, 99}});
  add(2, Tattach{0, NOFID, "glenda", "", n_uname});
  add(2, Tattach{3, 7, "", "/tmp", n_uname});
  add(2, Rattach{q2});
  add(3, Rerror{"file does not exist"});
  add(3, Rerror{""});
  add(4, Tflush{3});
  add(4, Rflush{});
  Twalk w{1, 2, {}};
  w.wname.push_back("usr");
  w.wname.push_back("glenda");
  add(5, w);
  add(5, Twalk{1, 1, {}});  // clone
  Twalk full{1, 2, {}};
  static const char* kNames[MAXWELEM] = {"a", "b", "c", "d", "e", "f", "g", "h",
                                         "i", "j", "k", "l", "m", "n", "o", ".."};
  for (const char* n : kNames) full.wname.push_back(n);
  add(5, full);
  Rwalk rw;
  rw.wqid.push_back(q2);
  rw.wqid.push_back(q1);
  add(5, rw);
  add(5, Rwalk{});
  add(6, Topen{4, ORDWR | OTRUNC});
  add(6, Ropen{q1, 8168});
  add(7, Tcreate{4, "new file", DMDIR | 0775, OREAD});
  add(7, Rcreate{q2, 0});
  add(8, Tread{4, 0x123456789aULL, 8168});
  add(8, Rread{kHello});
  add(8, Rread{});
  add(8, Rread{SampleStats()});
  add(9, Twrite{4, 77, kBinary});
  add(9, Twrite{4, 0, {}});
  add(9, Rwrite{8});
  add(10, Tclunk{4});
  add(10, Rclunk{});
  add(11, Tremove{5});
  add(11, Rremove{});
  add(12, Tstat{6});
  add(12, Rstat{SampleStat()});
  add(13, Twstat{6, SampleStat()});
  add(13, Twstat{6, NullStat()});
  add(13, Rwstat{});
  add(14, Rlerror{2});
  if (!dotl) return v;

  add(20, Tstatfs{1});
  add(20, Rstatfs{0x01021997, 4096, 1000000, 500000, 400000, 65536, 60000, 0xabcdef, 255});
  add(21, Tlopen{1, 02 | 01000 | 0200000});
  add(21, Rlopen{q1, 0});
  add(22, Tlcreate{1, "file.txt", 0101, 0644, 100});
  add(22, Rlcreate{q1, 65512});
  add(23, Tsymlink{1, "link", "../target/path", 100});
  add(23, Rsymlink{Qid{QTSYMLINK, 0, 77}});
  add(24, Tmknod{1, "fifo", 010644, 0, 0, 100});
  add(24, Rmknod{q1});
  add(25, Trename{1, 2, "newname"});
  add(25, Rrename{});
  add(26, Treadlink{3});
  add(26, Rreadlink{"/etc/passwd"});
  add(27, Tgetattr{1, P9_GETATTR_ALL});
  Rgetattr ga;
  ga.valid = P9_GETATTR_BASIC;
  ga.qid = q1;
  ga.mode = 0100644;
  ga.uid = 1000;
  ga.gid = 100;
  ga.nlink = 1;
  ga.rdev = 0x0801;
  ga.size = 12345;
  ga.blksize = 4096;
  ga.blocks = 32;
  ga.atime_sec = 1700000000;
  ga.atime_nsec = 1;
  ga.mtime_sec = 1700000002;
  ga.mtime_nsec = 3;
  ga.ctime_sec = 1700000004;
  ga.ctime_nsec = 5;
  ga.btime_sec = 6;
  ga.btime_nsec = 7;
  ga.gen = 8;
  ga.data_version = 9;
  add(27, ga);
  add(28, Tsetattr{1, P9_SETATTR_MODE | P9_SETATTR_SIZE, 0600, 1, 2, 4096, 10, 11, 12, 13});
  add(28, Rsetattr{});
  add(29, Txattrwalk{1, 2, "user.comment"});
  add(29, Rxattrwalk{17});
  add(30, Txattrcreate{1, "user.comment", 17, 0});
  add(30, Rxattrcreate{});
  add(31, Treaddir{1, 0, 8168});
  add(31, Rreaddir{SampleDirents()});
  add(31, Rreaddir{});
  add(32, Tfsync{1, 1});
  add(32, Rfsync{});
  add(33, Tlock{1, P9_LOCK_TYPE_WRLCK, P9_LOCK_FLAGS_BLOCK, 0, 100, 4242, "host.example"});
  add(33, Rlock{P9_LOCK_BLOCKED});
  add(34, Tgetlock{1, P9_LOCK_TYPE_RDLCK, 10, 20, 4242, "host.example"});
  add(34, Rgetlock{P9_LOCK_TYPE_UNLCK, 10, 20, 0, ""});
  add(35, Tlink{1, 2, "hardlink"});
  add(35, Rlink{});
  add(36, Tmkdir{1, "dir", 0755, 100});
  add(36, Rmkdir{q2});
  add(37, Trenameat{1, "old", 2, "new"});
  add(37, Rrenameat{});
  add(38, Tunlinkat{1, "gone", 0x200});
  add(38, Runlinkat{});
  return v;
}

}  // namespace ninep::testing

#endif  // NINEP_TESTS_WIRE_SAMPLES_H_
