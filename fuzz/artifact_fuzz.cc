// Task artifacts (artifact::RestoreArtifact) as a remote cache or a shared
// cache directory hands them out: any file must restore or be refused, and
// must never write outside the package. Each run restores into a fresh
// <base>/run/pkg holding one trap, a symlink "up" -> "..", and then checks
// that <base> holds only run/ and run/ only pkg/ and the artifact; on a
// refusal the package holds no file (only directories and the trap).
//
// Input: a mode digit, then the artifact. Even modes take the bytes as the
// artifact file; odd modes take them as the tar stream and zstd-compress it
// with a content checksum, so mutations reach the entry rules instead of
// dying in the zstd checksum. mode / 2 picks the outputs globs.
//
// Seeds: CELLAR_ARTIFACT_FUZZ_SEEDS=<dir> build-fuzz/fuzz/artifact_fuzz
// writes real artifacts (made with WriteArtifact) for every mode to <dir>.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "fuzz/fuzz_util.h"
#include "tasks/artifact/artifact.h"

using namespace cellar;
namespace fs = std::filesystem;

namespace {

const std::vector<std::vector<std::string>> kOutputs = {
    {"**"},
    {"dist/**", "!dist/cache/**"},
    {"out", "up", "up/**"},
};

void WriteFile(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  FUZZ_CHECK(out.good());
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string Compress(std::string_view tar) {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  FUZZ_CHECK(cctx != nullptr);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 1);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
  std::string out(ZSTD_compressBound(tar.size()), '\0');
  size_t n = ZSTD_compress2(cctx, out.data(), out.size(), tar.data(), tar.size());
  ZSTD_freeCCtx(cctx);
  FUZZ_CHECK(!ZSTD_isError(n));
  out.resize(n);
  return out;
}

std::string Decompress(std::string_view zst) {
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  std::string out;
  std::vector<char> buf(ZSTD_DStreamOutSize());
  ZSTD_inBuffer in{zst.data(), zst.size(), 0};
  while (in.pos < in.size) {
    ZSTD_outBuffer o{buf.data(), buf.size(), 0};
    size_t r = ZSTD_decompressStream(dctx, &o, &in);
    FUZZ_CHECK(!ZSTD_isError(r));
    out.append(buf.data(), o.pos);
  }
  ZSTD_freeDCtx(dctx);
  return out;
}

// Directories restored without write or search permission must not stop the cleanup.
void RemoveTree(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (!ec) return;
  for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) ::chmod(it->path().c_str(), 0700);
  }
  ::chmod(path.c_str(), 0700);
  fs::remove_all(path, ec);
  FUZZ_CHECK(!ec);
}

std::set<std::string> Names(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

const std::string& Base() {
  static const std::string base = [] {
    const char* tmp = getenv("TMPDIR");
    std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/cellar-artifact-fuzz.XXXXXX";
    FUZZ_CHECK(mkdtemp(tmpl.data()) != nullptr);
    static std::string to_remove = tmpl;
    atexit([] { RemoveTree(to_remove); });
    return tmpl;
  }();
  return base;
}

glob::PatternSet Outputs(unsigned choice) {
  auto set = glob::PatternSet::Parse(kOutputs[choice]);
  FUZZ_CHECK(set.ok());
  return *set;
}

// A package with files, an empty directory, a symlink and an excluded cache, packed
// with WriteArtifact: one seed per mode.
void WriteSeeds(const std::string& dir) {
  const std::string pkg = Base() + "/seed";
  fs::create_directories(pkg + "/dist/cache");
  fs::create_directories(pkg + "/dist/empty");
  WriteFile(pkg + "/dist/index.js", "console.log('hi')\n");
  WriteFile(pkg + "/dist/cache/x.bin", "cached");
  WriteFile(pkg + "/out", "#!/bin/sh\necho out\n");
  ::chmod((pkg + "/out").c_str(), 0755);
  fs::create_symlink("index.js", pkg + "/dist/latest.js");
  fs::create_directories(dir);
  for (unsigned choice = 0; choice < kOutputs.size(); ++choice) {
    artifact::WriteOptions options;
    options.task_id = "web#build";
    options.duration_ms = 1234;
    options.log_bytes = "building\ndone\n";
    const std::string file = Base() + "/seed.tar.zst";
    auto info = artifact::WriteArtifact(pkg, Outputs(choice), options, file);
    FUZZ_CHECK(info.ok());
    // The seed must restore, or the fuzzer would start from refusals only.
    const std::string check = Base() + "/check";
    fs::create_directories(check);
    FUZZ_CHECK(artifact::RestoreArtifact(file, check, Outputs(choice)).ok());
    RemoveTree(check);
    const std::string zst = ReadFile(file);
    WriteFile(dir + "/outputs" + std::to_string(choice) + "_zst", std::to_string(choice * 2) + zst);
    WriteFile(dir + "/outputs" + std::to_string(choice) + "_tar", std::to_string(choice * 2 + 1) + Decompress(zst));
  }
  RemoveTree(pkg);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = getenv("CELLAR_ARTIFACT_FUZZ_SEEDS")) {
    WriteSeeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const unsigned mode = fuzz::Mode(data[0], 2 * kOutputs.size());
  std::string_view body = fuzz::AsView(data + 1, size - 1);
  static const std::vector<glob::PatternSet> outputs = [] {
    std::vector<glob::PatternSet> sets;
    for (unsigned i = 0; i < kOutputs.size(); ++i) sets.push_back(Outputs(i));
    return sets;
  }();

  const std::string run = Base() + "/run";
  const std::string pkg = run + "/pkg";
  const std::string archive = run + "/artifact.tar.zst";
  FUZZ_CHECK(fs::create_directories(pkg));
  fs::create_symlink("..", pkg + "/up");
  WriteFile(archive, mode % 2 == 0 ? std::string(body) : Compress(body));

  auto result = artifact::RestoreArtifact(archive, pkg, outputs[mode / 2]);

  FUZZ_CHECK(Names(Base()) == std::set<std::string>({"run"}));
  FUZZ_CHECK(Names(run) == std::set<std::string>({"pkg", "artifact.tar.zst"}));
  if (!result.ok()) {
    // Nothing but directories (and the trap, possibly replaced by one) is left.
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(pkg, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->path() == pkg + "/up" && it->is_symlink()) continue;
      FUZZ_CHECK(it->is_directory() && !it->is_symlink());
    }
  }
  RemoveTree(run);
  return 0;
}
