// npm registry request paths (the part after "/npm/"): an accepted path
// names a valid package, never leaves its directory, and the escaped name
// a registry is asked for parses back to the same request.
#include "base/strings.h"
#include "fuzz/fuzz_util.h"
#include "protocols/npm/npm_path.h"

using namespace cellar;
using namespace cellar::npm;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = fuzz::AsView(data, size);
  (void)IsValidPackageName(in);
  auto req = ParseNpmPath(in);
  if (!req) return 0;
  if (req->kind == NpmRequestKind::kSpecial) {
    auto decoded = PercentDecode(req->special, /*allow_encoded_slash=*/true);
    FUZZ_CHECK(decoded && decoded->find("..") == std::string::npos);
    FUZZ_CHECK(decoded->find('\\') == std::string::npos);
    return 0;
  }
  FUZZ_CHECK(IsValidPackageName(req->name));
  FUZZ_CHECK(req->name.size() <= 214 && req->name != "-");
  FUZZ_CHECK(fuzz::HasNoDotSegments(req->name));
  FUZZ_CHECK(req->name.find('/') == req->name.rfind('/'));  // at most the scope's slash
  FUZZ_CHECK((req->name[0] == '@') == (req->name.find('/') != std::string::npos));
  std::string again = EscapedName(req->name);
  switch (req->kind) {
    case NpmRequestKind::kPackument:
      break;
    case NpmRequestKind::kVersion:
      FUZZ_CHECK(req->version != "." && req->version != ".." && req->version.find('/') == std::string::npos);
      again += "/" + req->version;
      break;
    case NpmRequestKind::kTarball:
      FUZZ_CHECK(req->file.ends_with(".tgz") && req->file[0] != '.' && req->file.find('/') == std::string::npos);
      again += "/-/" + req->file;
      break;
    case NpmRequestKind::kSpecial:
      break;
  }
  auto reparsed = ParseNpmPath(again);
  FUZZ_CHECK(reparsed && reparsed->kind == req->kind && reparsed->name == req->name);
  FUZZ_CHECK(reparsed->version == req->version && reparsed->file == req->file);
  return 0;
}
