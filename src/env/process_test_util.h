// Helpers shared by the process runner tests.
#pragma once

#include <unistd.h>

#include <string>

namespace cellar::env {

// Everything readable from `fd` until EOF (blocking).
inline std::string ReadToEndForTest(int fd) {
  std::string s;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) s.append(buf, static_cast<size_t>(n));
  return s;
}

}  // namespace cellar::env
