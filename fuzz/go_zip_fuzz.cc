// Module zips from a GOPROXY upstream, checked before they are stored. The
// input is the zip file; limits are small so a zip bomb stays cheap.
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz/fuzz_util.h"
#include "protocols/goproxy/module_hash.h"

using namespace cellar;
using namespace cellar::goproxy;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const int fd = memfd_create("go_zip_fuzz", 0);
  FUZZ_CHECK(fd >= 0);
  FUZZ_CHECK(ftruncate(fd, 0) == 0);
  FUZZ_CHECK(pwrite(fd, data, size, 0) == static_cast<ssize_t>(size));
  ZipLimits limits;
  limits.max_zip_bytes = 1 << 20;
  limits.max_unpacked_bytes = 4 << 20;
  limits.max_go_mod_bytes = 64 << 10;
  limits.max_license_bytes = 64 << 10;
  auto h1 = CheckModuleZip(fd, "example.com/m", "v1.0.0", limits);
  if (h1.ok()) FUZZ_CHECK(h1->starts_with("h1:") && h1->size() == 3 + 44);
  return 0;
}
