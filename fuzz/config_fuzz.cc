// The YAML file given by --config (or CELLAR_CONFIG), through LoadConfig
// and the same option setters as flags. Operators write it, but a typo must
// give an error, never a crash.
#include <sys/mman.h>
#include <unistd.h>

#include <map>

#include "fuzz/fuzz_util.h"
#include "server/config.h"

using namespace cellar;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const int fd = memfd_create("config_fuzz", 0);
  static const std::string path = "/proc/self/fd/" + std::to_string(fd);
  FUZZ_CHECK(fd >= 0);
  FUZZ_CHECK(ftruncate(fd, 0) == 0);
  FUZZ_CHECK(pwrite(fd, data, size, 0) == static_cast<ssize_t>(size));
  bool help = false;
  auto config = server::LoadConfig({"--config", path}, {}, &help);
  FUZZ_CHECK(!help);
  if (config.ok()) (void)server::CheckExposure(*config);
  return 0;
}
