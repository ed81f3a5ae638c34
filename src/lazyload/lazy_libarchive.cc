// libarchive's functions that cellar calls, forwarded to libarchive loaded on
// first use (see lazy_library.h). Functions returning a status return
// ARCHIVE_FATAL when libarchive cannot be loaded; constructors return null.

#include <archive.h>
#include <archive_entry.h>

#include <cstdarg>
#include <cstdio>

#include "lazyload/libraries.h"

using cellar::lazyload::Libarchive;

extern "C" {

struct archive*(archive_read_new)(void) {
  CELLAR_LAZY_FUNCTION(Libarchive(), archive_read_new);
  return fn != nullptr ? fn() : nullptr;
}

int(archive_read_free)(struct archive* a) {
  CELLAR_LAZY_FUNCTION(Libarchive(), archive_read_free);
  return fn != nullptr ? fn(a) : ARCHIVE_FATAL;
}

int(archive_read_support_format_tar)(struct archive* a) {
  CELLAR_LAZY_FUNCTION(Libarchive(), archive_read_support_format_tar);
  return fn != nullptr ? fn(a) : ARCHIVE_FATAL;
}

int(archive_read_open)(struct archive* a, void* client_data, archive_open_callback* open,
                       archive_read_callback* read, archive_close_callback* close) {
  CELLAR_LAZY_FUNCTION(Libarchive(), archive_read_open);
  return fn != nullptr ? fn(a, client_data, open, read, close) : ARCHIVE_FATAL;
}

int(archive_read_next_header)(struct archive* a, struct archive_entry** entry) {
  CELLAR_LAZY_FUNCTION(Libarchive(), archive_read_next_header);
  return fn != nullptr ? fn(a, entry) : ARCHIVE_FATAL;
}

la_ssize_t(archive_read_data)(struct archive* a, void* buffer, size_t size) {
  CELLAR_LAZY_FUNCTION(Libarchive(), archive_read_data);
  return fn != nullptr ? fn(a, buffer, size) : ARCHIVE_FATAL;
}

struct archive*(archive_write_new)(void) {
  CELLAR_LAZY_FUNCTION(Libarchive(), archive_write_new);
  return fn != nullptr ? fn() : nullptr;
}

int(archive_write_free)(struct archive* a) {
  CELLAR_LAZY_FUNCTION(Libarchive(), archive_write_free);
  return fn != nullptr ? fn(a) : ARCHIVE_FATAL;
}

int(archive_write_set_format_pax_restricted)(struct archive* a) {
  CELLAR_LAZY_FUNCTION(Libarchive(), archive_write_set_format_pax_restricted);
  return fn != nullptr ? fn(a) : ARCHIVE_FATAL;
}

int(archive_write_set_format_option)(struct archive* a, const char* module, const char* option,
                                     const char* value) {
  CELLAR_LAZY_FUNCTION(Libarchive(), archive_write_set_format_option);
  return fn != nullptr ? fn(a, module, option, value) : ARCHIVE_FATAL;
}

int(archive_write_set_bytes_in_last_block)(struct archive* a, int bytes) {
  CELLAR_LAZY_FUNCTION(Libarchive(), archive_write_set_bytes_in_last_block);
  return fn != nullptr ? fn(a, bytes) : ARCHIVE_FATAL;
}

int(archive_write_open2)(struct archive* a, void* client_data, archive_open_callback* open,
                         archive_write_callback* write, archive_close_callback* close,
                         archive_free_callback* free) {
  CELLAR_LAZY_FUNCTION(Libarchive(), archive_write_open2);
  return fn != nullptr ? fn(a, client_data, open, write, close, free) : ARCHIVE_FATAL;
}

int(archive_write_header)(struct archive* a, struct archive_entry* entry) {
  CELLAR_LAZY_FUNCTION(Libarchive(), archive_write_header);
  return fn != nullptr ? fn(a, entry) : ARCHIVE_FATAL;
}

la_ssize_t(archive_write_data)(struct archive* a, const void* buffer, size_t size) {
  CELLAR_LAZY_FUNCTION(Libarchive(), archive_write_data);
  return fn != nullptr ? fn(a, buffer, size) : ARCHIVE_FATAL;
}

int(archive_write_close)(struct archive* a) {
  CELLAR_LAZY_FUNCTION(Libarchive(), archive_write_close);
  return fn != nullptr ? fn(a) : ARCHIVE_FATAL;
}

const char*(archive_error_string)(struct archive* a) {
  CELLAR_LAZY_FUNCTION(Libarchive(), archive_error_string);
  return fn != nullptr ? fn(a) : "libarchive could not be loaded";
}

// Variadic: formatted here, and passed on as one "%s" argument.
void(archive_set_error)(struct archive* a, int error, const char* format, ...) {
  CELLAR_LAZY_FUNCTION(Libarchive(), archive_set_error);
  if (fn == nullptr) return;
  char message[1024];
  va_list args;
  va_start(args, format);
  std::vsnprintf(message, sizeof message, format, args);
  va_end(args);
  fn(a, error, "%s", message);
}

struct archive_entry*(archive_entry_new)(void) {
  CELLAR_LAZY_FUNCTION(Libarchive(), archive_entry_new);
  return fn != nullptr ? fn() : nullptr;
}

void(archive_entry_free)(struct archive_entry* e) {
  CELLAR_LAZY_FUNCTION(Libarchive(), archive_entry_free);
  if (fn != nullptr) fn(e);
}

const char*(archive_entry_pathname)(struct archive_entry* e) {
  CELLAR_LAZY_FUNCTION(Libarchive(), archive_entry_pathname);
  return fn != nullptr ? fn(e) : nullptr;
}

void(archive_entry_copy_pathname)(struct archive_entry* e, const char* path) {
  CELLAR_LAZY_FUNCTION(Libarchive(), archive_entry_copy_pathname);
  if (fn != nullptr) fn(e, path);
}

const char*(archive_entry_symlink)(struct archive_entry* e) {
  CELLAR_LAZY_FUNCTION(Libarchive(), archive_entry_symlink);
  return fn != nullptr ? fn(e) : nullptr;
}

void(archive_entry_copy_symlink)(struct archive_entry* e, const char* target) {
  CELLAR_LAZY_FUNCTION(Libarchive(), archive_entry_copy_symlink);
  if (fn != nullptr) fn(e, target);
}

const char*(archive_entry_hardlink)(struct archive_entry* e) {
  CELLAR_LAZY_FUNCTION(Libarchive(), archive_entry_hardlink);
  return fn != nullptr ? fn(e) : nullptr;
}

__LA_MODE_T(archive_entry_filetype)(struct archive_entry* e) {
  CELLAR_LAZY_FUNCTION(Libarchive(), archive_entry_filetype);
  return fn != nullptr ? fn(e) : 0;
}

void(archive_entry_set_filetype)(struct archive_entry* e, unsigned int type) {
  CELLAR_LAZY_FUNCTION(Libarchive(), archive_entry_set_filetype);
  if (fn != nullptr) fn(e, type);
}

__LA_MODE_T(archive_entry_perm)(struct archive_entry* e) {
  CELLAR_LAZY_FUNCTION(Libarchive(), archive_entry_perm);
  return fn != nullptr ? fn(e) : 0;
}

void(archive_entry_set_perm)(struct archive_entry* e, __LA_MODE_T perm) {
  CELLAR_LAZY_FUNCTION(Libarchive(), archive_entry_set_perm);
  if (fn != nullptr) fn(e, perm);
}

la_int64_t(archive_entry_size)(struct archive_entry* e) {
  CELLAR_LAZY_FUNCTION(Libarchive(), archive_entry_size);
  return fn != nullptr ? fn(e) : 0;
}

void(archive_entry_set_size)(struct archive_entry* e, la_int64_t size) {
  CELLAR_LAZY_FUNCTION(Libarchive(), archive_entry_set_size);
  if (fn != nullptr) fn(e, size);
}

void(archive_entry_set_uid)(struct archive_entry* e, la_int64_t uid) {
  CELLAR_LAZY_FUNCTION(Libarchive(), archive_entry_set_uid);
  if (fn != nullptr) fn(e, uid);
}

void(archive_entry_set_gid)(struct archive_entry* e, la_int64_t gid) {
  CELLAR_LAZY_FUNCTION(Libarchive(), archive_entry_set_gid);
  if (fn != nullptr) fn(e, gid);
}

void(archive_entry_set_mtime)(struct archive_entry* e, time_t seconds, long nanoseconds) {
  CELLAR_LAZY_FUNCTION(Libarchive(), archive_entry_set_mtime);
  if (fn != nullptr) fn(e, seconds, nanoseconds);
}

}  // extern "C"
