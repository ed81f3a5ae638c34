// Packument processing that never builds the whole document in memory:
//  - TarballUrlRewriter rewrites every "tarball":"<upstream base>..." URL to
//    cellar's public base, streaming, as a plain byte substitution (a JSON
//    string inside another string has its quotes escaped, so it is never
//    matched);
//  - ExtractDistIndex reads the document with a SAX parser and keeps, per
//    tarball file, what a miss needs: integrity, shasum and original URL.
// Both run once per upstream change, never per request.
#pragma once

#include <cstddef>
#include <functional>
#include <istream>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace cellar::npm {

class TarballUrlRewriter {
 public:
  // Rewrites URLs starting with `from` (e.g. "https://registry.npmjs.org/")
  // to start with `to` (e.g. "https://cellar.example/npm/").
  TarballUrlRewriter(std::string from, std::string to);
  // Appends the rewritten form of `chunk` (possibly holding back a few
  // bytes that might start a match) to `out`.
  void Feed(std::string_view chunk, std::string& out);
  void Finish(std::string& out);
  uint64_t rewritten() const { return rewritten_; }

 private:
  void Process(size_t limit, std::string& out);
  std::string compact_;  // "tarball":"<from>
  std::string spaced_;   // "tarball": "<from>
  std::string to_;
  std::string pending_;
  char before_ = '\0';  // byte preceding pending_
  uint64_t rewritten_ = 0;
};

// Reads a stored rendering with the base of its tarball URLs moved from
// `from` to `to` (the placeholder base to a request's), streaming. `urls` is
// how many tarball URLs below `from` the rendering holds, counted when it was
// rendered, so the length is known before the first byte.
class BaseSwapReader {
 public:
  using ReadFn = std::function<Result<size_t>(std::span<std::byte>)>;
  BaseSwapReader(ReadFn read, std::string from, std::string to);
  // Like HttpResponse::Read: up to out.size() bytes, 0 at the end.
  Result<size_t> Read(std::span<std::byte> out);
  // The length of the result for a rendering of `stored_size` bytes.
  static uint64_t Length(uint64_t stored_size, uint64_t urls, size_t from_size, size_t to_size) {
    return stored_size + urls * to_size - urls * from_size;
  }

 private:
  ReadFn read_;
  TarballUrlRewriter rewriter_;
  std::vector<std::byte> buf_;
  std::string pending_;  // rewritten bytes not yet handed on
  bool done_ = false;
};

struct DistInfo {
  std::string version;
  std::string integrity;  // SRI, may be empty
  std::string shasum;     // hex, may be empty
  std::string url;        // original dist.tarball
};

// Tarball file name (last URL segment, e.g. "widget-2.0.0.tgz") -> DistInfo.
using DistIndex = std::map<std::string, DistInfo>;

// kCorruption when the document is not valid JSON.
Result<DistIndex> ExtractDistIndex(std::istream& json);

// What the registry answers for /<name>/<version> (a single-version
// document), picked out of a packument: versions.<version>, serialized.
// Only that member is kept while parsing, so a large packument is never
// held whole. kNotFound when the packument has no such version,
// kCorruption when it is not valid JSON.
Result<std::string> PickVersionDocument(std::istream& json, std::string_view version);

// The version a dist-tag ("latest") names in a packument; kNotFound when
// there is no such tag, kCorruption when the packument is not valid JSON.
Result<std::string> ResolveDistTag(std::istream& json, std::string_view tag);

// Compact text form for storage: one "file\tversion\tintegrity\tshasum\turl" line each.
std::string SerializeDistIndex(const DistIndex& index);
DistIndex ParseDistIndex(std::string_view text);

}  // namespace cellar::npm
