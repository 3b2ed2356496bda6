// diod_tools_test: Debian's diodls and diodcat (9P2000.L clients no one here
// wrote) against bin/ramfs. Files are made with our client first; the
// listing must show them and diodcat must print their exact bytes.
// Needs the `diod` package (make deps installs it).
#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "ninep/client.h"
#include "testutil.h"

namespace ninep::testing {
namespace {

const char kDiodls[] = "/usr/sbin/diodls";
const char kDiodcat[] = "/usr/sbin/diodcat";

class DiodTools : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(access(kDiodls, X_OK), 0) << kDiodls << " missing: run make deps (package diod)";
    ASSERT_EQ(access(kDiodcat, X_OK), 0) << kDiodcat << " missing: run make deps";
    std::string addr = StartServer(&srv_, "ramfs", {});
    ASSERT_FALSE(addr.empty());
    // "tcp!127.0.0.1!PORT" -> "127.0.0.1:PORT", the form diod's tools take.
    hostport_ = "127.0.0.1:" + addr.substr(addr.rfind('!') + 1);
    auto c = Client::Connect(addr, ClientOptions{});
    ASSERT_TRUE(c.ok()) << c.status().message();
    client_ = std::move(*c);
    Result<Fid> root = client_->Attach("glenda", "");
    ASSERT_TRUE(root.ok()) << root.status().message();
    root_ = std::move(*root);
  }
  void TearDown() override {
    root_ = Fid();
    client_.reset();
  }
  // Creates a file (in `dir`, a path from the root) holding data.
  void Put(const std::string& dir, const std::string& name, const std::string& data) {
    Result<Fid> d = root_.Walk(dir);
    ASSERT_TRUE(d.ok()) << dir;
    ASSERT_TRUE(d->Create(name, 0644, OWRITE).ok()) << name;
    auto w = d->Write(0, {reinterpret_cast<const uint8_t*>(data.data()), data.size()});
    ASSERT_TRUE(w.ok());
    ASSERT_EQ(*w, data.size());
  }
  void Mkdir(const std::string& name) {
    Result<Fid> d = root_.Walk("");
    ASSERT_TRUE(d.ok());
    ASSERT_TRUE(d->Create(name, DMDIR | 0755, OREAD).ok()) << name;
  }
  // Runs a diod tool against ramfs; returns stdout, status in *st.
  std::string Run(const char* tool, const std::string& args, int* st) {
    return Sh(
        std::string("timeout 30 ") + tool + " -s " + hostport_ + " -a / " + args + " 2>/dev/null",
        st);
  }

  Process srv_;
  std::string hostport_;
  std::unique_ptr<Client> client_;
  Fid root_;
};

std::set<std::string> Lines(const std::string& s) {
  std::set<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.insert(l);
  return out;
}

TEST_F(DiodTools, DiodlsListsWhatOurClientMade) {
  Put("", "hello.txt", "hello, diod\n");
  Put("", "empty", "");
  Mkdir("sub");
  Put("sub", "inner", "x");
  int st = -1;
  std::string out = Run(kDiodls, "/", &st);
  EXPECT_EQ(st, 0) << out;
  std::set<std::string> names = Lines(out);
  EXPECT_TRUE(names.count("hello.txt")) << out;
  EXPECT_TRUE(names.count("empty")) << out;
  EXPECT_TRUE(names.count("sub")) << out;
  EXPECT_FALSE(names.count("inner")) << "a listing of / is not recursive: " << out;
  out = Run(kDiodls, "/sub", &st);
  EXPECT_EQ(st, 0);
  EXPECT_TRUE(Lines(out).count("inner")) << out;
  // The long listing of a file carries its size and mode from Tgetattr.
  // (`diodls -l DIR` walks from the open directory fid, which 9P2000
  // forbids and lib9p refuses, so only files are listed long here.)
  out = Run(kDiodls, "-l /hello.txt", &st);
  EXPECT_EQ(st, 0);
  EXPECT_NE(out.find(" 12 "), std::string::npos) << "size 12 expected in: " << out;
  EXPECT_EQ(out.substr(0, 10), "-rw-r--r--") << out;
}

TEST_F(DiodTools, DiodcatPrintsTheExactBytes) {
  Put("", "hello.txt", "hello, diod\n");
  // Every byte value, and a file larger than diod's 64 KiB msize.
  std::string bin;
  for (int i = 0; i < 256; i++) bin.push_back(static_cast<char>(i));
  std::string big;
  for (int i = 0; i < 3000; i++) big += "line " + std::to_string(i) + " of a big file\n";
  ASSERT_GT(big.size(), 65536u);
  Put("", "bytes", bin);
  Put("", "big", big);
  int st = -1;
  EXPECT_EQ(Run(kDiodcat, "/hello.txt", &st), "hello, diod\n");
  EXPECT_EQ(st, 0);
  EXPECT_EQ(Run(kDiodcat, "/bytes", &st), bin);
  EXPECT_EQ(st, 0);
  EXPECT_EQ(Run(kDiodcat, "/big", &st), big);
  EXPECT_EQ(st, 0);
  // A missing file is an error, not output.
  std::string none = Run(kDiodcat, "/nothere", &st);
  EXPECT_NE(st, 0);
  EXPECT_EQ(none, "");
}

TEST_F(DiodTools, SmallMsizeStillWorks) {
  std::string data(20000, 'q');
  Put("", "q", data);
  int st = -1;
  EXPECT_EQ(Run(kDiodcat, "-m 4096 /q", &st), data);
  EXPECT_EQ(st, 0);
}

}  // namespace
}  // namespace ninep::testing
