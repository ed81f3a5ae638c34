#include "protocols/git/git_request.h"

#include <zlib.h>

#include <gtest/gtest.h>

namespace cellar::git {
namespace {

const std::string kOid(40, 'a');
const std::string kOid2(40, 'b');

TEST(GitPath, InfoRefsAndServices) {
  auto t = ParseGitPath("GitHub.com/org/repo.git/info/refs", "git-upload-pack");
  ASSERT_TRUE(t.ok()) << t.error().message();
  EXPECT_EQ(t->host, "github.com");
  EXPECT_EQ(t->path, "org/repo.git");
  EXPECT_EQ(t->repo_key, "github.com/org/repo");
  EXPECT_EQ(t->service, GitService::kInfoRefs);
  EXPECT_FALSE(t->receive);
  auto p = ParseGitPath("127.0.0.1:8080/a/b/git-upload-pack", std::nullopt);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->repo_key, "127.0.0.1:8080/a/b");
  EXPECT_EQ(p->service, GitService::kUploadPack);
  EXPECT_TRUE(ParseGitPath("h/r/info/refs", "git-receive-pack")->receive);
  EXPECT_TRUE(ParseGitPath("h/r/git-receive-pack", std::nullopt)->receive);
}

TEST(GitPath, RejectsTraversalAndJunk) {
  EXPECT_FALSE(ParseGitPath("h/../x/info/refs", "git-upload-pack").ok());
  EXPECT_FALSE(ParseGitPath("h/./x/info/refs", "git-upload-pack").ok());
  EXPECT_FALSE(ParseGitPath("h/a//b/info/refs", "git-upload-pack").ok());
  EXPECT_FALSE(ParseGitPath("h/info/refs", "git-upload-pack").ok());
  EXPECT_FALSE(ParseGitPath("h/.git/info/refs", "git-upload-pack").ok());
  EXPECT_FALSE(ParseGitPath("h/a%2e/info/refs", "git-upload-pack").ok());
  EXPECT_FALSE(ParseGitPath("h_x/a/info/refs", "git-upload-pack").ok());
  EXPECT_FALSE(ParseGitPath("h/a/info/refs", std::nullopt).ok());  // dumb protocol
  EXPECT_FALSE(ParseGitPath("h/a/objects/info/packs", std::nullopt).ok());
}

TEST(PktLine, RoundTripAndSpecials) {
  std::string data = EncodePktLine("hello\n") + "0001" + EncodePktLine("x") + "0000";
  auto lines = ParsePktLines(data);
  ASSERT_TRUE(lines.ok());
  ASSERT_EQ(lines->size(), 4u);
  EXPECT_EQ((*lines)[0].payload, "hello\n");
  EXPECT_EQ((*lines)[1].kind, PktLine::kDelim);
  EXPECT_EQ((*lines)[3].kind, PktLine::kFlush);
  EXPECT_EQ(EncodePktLine("hello\n").substr(0, 4), "000a");
}

TEST(PktLine, BadFramingIsAnError) {
  EXPECT_FALSE(ParsePktLines("00").ok());
  EXPECT_FALSE(ParsePktLines("zzzz").ok());
  EXPECT_FALSE(ParsePktLines("0003").ok());
  EXPECT_FALSE(ParsePktLines("0010abc").ok());
  EXPECT_FALSE(ParsePktLines("fff1" + std::string(65530, 'x')).ok());
}

TEST(UploadRequest, V2Fetch) {
  std::string body = EncodePktLine("command=fetch\n") + EncodePktLine("agent=git/2.39\n") + "0001" +
                     EncodePktLine("thin-pack\n") + EncodePktLine("want " + kOid + "\n") +
                     EncodePktLine("want " + kOid2 + "\n") + EncodePktLine("done\n") + "0000";
  auto r = ParseUploadRequest(body, true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->command, "fetch");
  EXPECT_EQ(r->wants, (std::vector<std::string>{kOid, kOid2}));
  EXPECT_FALSE(r->has_haves);
}

TEST(UploadRequest, V2LsRefsAndV0) {
  auto ls = ParseUploadRequest(EncodePktLine("command=ls-refs\n") + "0001" + EncodePktLine("peel\n") + "0000", true);
  ASSERT_TRUE(ls.ok());
  EXPECT_EQ(ls->command, "ls-refs");
  std::string v0 = EncodePktLine("want " + kOid + " multi_ack side-band-64k\n") + EncodePktLine("deepen 1\n") + "0000" +
                   EncodePktLine("have " + kOid2 + "\n") + EncodePktLine("done\n");
  auto r = ParseUploadRequest(v0, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->command, "fetch");
  EXPECT_EQ(r->wants, std::vector<std::string>{kOid});
  EXPECT_TRUE(r->has_haves);
  EXPECT_TRUE(r->shallow);
}

TEST(UploadRequest, Refusals) {
  EXPECT_FALSE(ParseUploadRequest(EncodePktLine("want zzz\n"), false).ok());
  EXPECT_FALSE(ParseUploadRequest("0000", true).ok());  // no command
  EXPECT_FALSE(ParseUploadRequest("garbage", false).ok());
}

TEST(LsRefs, CollectsTipsAndPeeledTags) {
  std::string body = EncodePktLine(kOid + " HEAD symref-target:refs/heads/main\n") +
                     EncodePktLine(kOid + " refs/heads/main\n") +
                     EncodePktLine(kOid2 + " refs/tags/v1 peeled:" + std::string(40, 'c') + "\n") +
                     EncodePktLine("unborn refs/heads/x\n") + "0000";
  auto oids = OidsInLsRefs(body);
  EXPECT_EQ(oids, (std::vector<std::string>{kOid, kOid, kOid2, std::string(40, 'c')}));
}

std::string Gzip(const std::string& in) {
  z_stream zs{};
  deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(in.size() + 1024, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

TEST(Gunzip, InflatesAndEnforcesLimits) {
  std::string data(100000, 'x');
  auto out = Gunzip(Gzip(data), 1 << 20);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, data);
  EXPECT_EQ(Gunzip(Gzip(data), 1000).error().code(), Code::kResourceExhausted);
  std::string gz = Gzip(data);
  EXPECT_FALSE(Gunzip(gz.substr(0, gz.size() / 2), 1 << 20).ok());
  EXPECT_FALSE(Gunzip("not gzip at all", 1 << 20).ok());
}

}  // namespace
}  // namespace cellar::git
