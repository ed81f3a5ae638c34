// libzip's functions that cellar calls, forwarded to libzip loaded on first
// use (see lazy_library.h). When it cannot be loaded, opening a zip fails
// with ZIP_ER_INTERNAL and the error strings say why.

#include <zip.h>

#include <cstring>

#include "lazyload/libraries.h"

using cellar::lazyload::Libzip;

namespace {
constexpr const char* kNotLoaded = "libzip could not be loaded";
}  // namespace

extern "C" {

zip_t*(zip_fdopen)(int fd, int flags, int* error) {
  CELLAR_LAZY_FUNCTION(Libzip(), zip_fdopen);
  if (fn != nullptr) return fn(fd, flags, error);
  if (error != nullptr) *error = ZIP_ER_INTERNAL;
  return nullptr;
}

void(zip_discard)(zip_t* archive) {
  CELLAR_LAZY_FUNCTION(Libzip(), zip_discard);
  if (fn != nullptr) fn(archive);
}

zip_int64_t(zip_get_num_entries)(zip_t* archive, zip_flags_t flags) {
  CELLAR_LAZY_FUNCTION(Libzip(), zip_get_num_entries);
  return fn != nullptr ? fn(archive, flags) : -1;
}

void(zip_stat_init)(zip_stat_t* stat) {
  CELLAR_LAZY_FUNCTION(Libzip(), zip_stat_init);
  if (fn != nullptr) {
    fn(stat);
  } else {
    std::memset(stat, 0, sizeof *stat);
  }
}

int(zip_stat_index)(zip_t* archive, zip_uint64_t index, zip_flags_t flags, zip_stat_t* stat) {
  CELLAR_LAZY_FUNCTION(Libzip(), zip_stat_index);
  return fn != nullptr ? fn(archive, index, flags, stat) : -1;
}

zip_file_t*(zip_fopen_index)(zip_t* archive, zip_uint64_t index, zip_flags_t flags) {
  CELLAR_LAZY_FUNCTION(Libzip(), zip_fopen_index);
  return fn != nullptr ? fn(archive, index, flags) : nullptr;
}

zip_int64_t(zip_fread)(zip_file_t* file, void* buffer, zip_uint64_t size) {
  CELLAR_LAZY_FUNCTION(Libzip(), zip_fread);
  return fn != nullptr ? fn(file, buffer, size) : -1;
}

int(zip_fclose)(zip_file_t* file) {
  CELLAR_LAZY_FUNCTION(Libzip(), zip_fclose);
  return fn != nullptr ? fn(file) : ZIP_ER_INTERNAL;
}

const char*(zip_strerror)(zip_t* archive) {
  CELLAR_LAZY_FUNCTION(Libzip(), zip_strerror);
  return fn != nullptr ? fn(archive) : kNotLoaded;
}

const char*(zip_file_strerror)(zip_file_t* file) {
  CELLAR_LAZY_FUNCTION(Libzip(), zip_file_strerror);
  return fn != nullptr ? fn(file) : kNotLoaded;
}

void(zip_error_init_with_code)(zip_error_t* error, int code) {
  CELLAR_LAZY_FUNCTION(Libzip(), zip_error_init_with_code);
  if (fn != nullptr) fn(error, code);
}

const char*(zip_error_strerror)(zip_error_t* error) {
  CELLAR_LAZY_FUNCTION(Libzip(), zip_error_strerror);
  return fn != nullptr ? fn(error) : kNotLoaded;
}

void(zip_error_fini)(zip_error_t* error) {
  CELLAR_LAZY_FUNCTION(Libzip(), zip_error_fini);
  if (fn != nullptr) fn(error);
}

}  // extern "C"
