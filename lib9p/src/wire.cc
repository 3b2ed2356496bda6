// wire.cc: the small shared pieces of the codec (type names, NullStat,
// Message::type, payload equality). Encode/Decode/Format live in
// wire_encode.cc, wire_decode.cc and wire_trace.cc.
#include "ninep/wire.h"

#include <algorithm>
#include <cstdio>

#include "wire_fields.h"

namespace ninep {
namespace {

struct TypeNames {
  std::array<std::string_view, 256> name;
  std::array<std::array<char, 8>, 256> unknown;  // backing for "T?<n>"

  TypeNames() {
    for (int i = 0; i < 256; i++) {
      snprintf(unknown[i].data(), unknown[i].size(), "T?%d", i);
      name[i] = unknown[i].data();
    }
    static constexpr std::pair<uint8_t, std::string_view> kNames[] = {
        {kRlerror, "Rlerror"},
        {kTstatfs, "Tstatfs"},
        {kRstatfs, "Rstatfs"},
        {kTlopen, "Tlopen"},
        {kRlopen, "Rlopen"},
        {kTlcreate, "Tlcreate"},
        {kRlcreate, "Rlcreate"},
        {kTsymlink, "Tsymlink"},
        {kRsymlink, "Rsymlink"},
        {kTmknod, "Tmknod"},
        {kRmknod, "Rmknod"},
        {kTrename, "Trename"},
        {kRrename, "Rrename"},
        {kTreadlink, "Treadlink"},
        {kRreadlink, "Rreadlink"},
        {kTgetattr, "Tgetattr"},
        {kRgetattr, "Rgetattr"},
        {kTsetattr, "Tsetattr"},
        {kRsetattr, "Rsetattr"},
        {kTxattrwalk, "Txattrwalk"},
        {kRxattrwalk, "Rxattrwalk"},
        {kTxattrcreate, "Txattrcreate"},
        {kRxattrcreate, "Rxattrcreate"},
        {kTreaddir, "Treaddir"},
        {kRreaddir, "Rreaddir"},
        {kTfsync, "Tfsync"},
        {kRfsync, "Rfsync"},
        {kTlock, "Tlock"},
        {kRlock, "Rlock"},
        {kTgetlock, "Tgetlock"},
        {kRgetlock, "Rgetlock"},
        {kTlink, "Tlink"},
        {kRlink, "Rlink"},
        {kTmkdir, "Tmkdir"},
        {kRmkdir, "Rmkdir"},
        {kTrenameat, "Trenameat"},
        {kRrenameat, "Rrenameat"},
        {kTunlinkat, "Tunlinkat"},
        {kRunlinkat, "Runlinkat"},
        {kTversion, "Tversion"},
        {kRversion, "Rversion"},
        {kTauth, "Tauth"},
        {kRauth, "Rauth"},
        {kTattach, "Tattach"},
        {kRattach, "Rattach"},
        {kRerror, "Rerror"},
        {kTflush, "Tflush"},
        {kRflush, "Rflush"},
        {kTwalk, "Twalk"},
        {kRwalk, "Rwalk"},
        {kTopen, "Topen"},
        {kRopen, "Ropen"},
        {kTcreate, "Tcreate"},
        {kRcreate, "Rcreate"},
        {kTread, "Tread"},
        {kRread, "Rread"},
        {kTwrite, "Twrite"},
        {kRwrite, "Rwrite"},
        {kTclunk, "Tclunk"},
        {kRclunk, "Rclunk"},
        {kTremove, "Tremove"},
        {kRremove, "Rremove"},
        {kTstat, "Tstat"},
        {kRstat, "Rstat"},
        {kTwstat, "Twstat"},
        {kRwstat, "Rwstat"},
    };
    for (const auto& [t, n] : kNames) name[t] = n;
  }
};

template <size_t... I>
constexpr std::array<uint8_t, std::variant_size_v<Body>> MakeTypes(std::index_sequence<I...>) {
  return {std::variant_alternative_t<I, Body>::kType...};
}
constexpr auto kTypeOfIndex = MakeTypes(std::make_index_sequence<std::variant_size_v<Body>>{});

bool SameBytes(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

}  // namespace

std::string_view MsgTypeName(uint8_t type) {
  static const TypeNames names;
  return names.name[type];
}

Stat NullStat() {
  Stat s;
  s.type = 0xFFFF;
  s.dev = 0xFFFFFFFF;
  s.qid.type = 0xFF;
  s.qid.version = 0xFFFFFFFF;
  s.qid.path = ~uint64_t{0};
  s.mode = 0xFFFFFFFF;
  s.atime = 0xFFFFFFFF;
  s.mtime = 0xFFFFFFFF;
  s.length = ~uint64_t{0};
  return s;
}

uint8_t Message::type() const { return kTypeOfIndex[body.index()]; }

bool Rread::operator==(const Rread& o) const { return SameBytes(data, o.data); }
bool Twrite::operator==(const Twrite& o) const {
  return fid == o.fid && offset == o.offset && SameBytes(data, o.data);
}
bool Rreaddir::operator==(const Rreaddir& o) const { return SameBytes(data, o.data); }

uint32_t PeekSize(const uint8_t* p) { return internal::LoadLE<uint32_t>(p); }

}  // namespace ninep
