// Packument processing that never builds the whole document in memory:
//  - TarballUrlRewriter rewrites every "tarball":"<upstream base>..." URL to
//    cellar's public base, streaming, as a plain byte substitution (a JSON
//    string inside another string has its quotes escaped, so it is never
//    matched);
//  - ExtractDistIndex reads the document with a SAX parser and keeps, per
//    tarball file, what a miss needs: integrity, shasum and original URL.
// Both run once per upstream change, never per request.
#pragma once

#include <istream>
#include <map>
#include <string>
#include <string_view>

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
