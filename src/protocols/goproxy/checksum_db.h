// Checksum-database (sumdb) details cellar needs: which databases it
// proxies, the shape of /sumdb/<name>/... paths, and the go.sum lines of a
// lookup answer (used to verify .zip and .mod files before storing them).
// Wire details: docs/protocols/goproxy.md sections 7-8.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace cellar::goproxy {

struct SumdbEndpoint {
  std::string name;      // "sum.golang.org"
  std::string base_url;  // "https://sum.golang.org", no trailing slash
};

// "sum.golang.org,sum.example=http://127.0.0.1:9000": a name alone means
// https://<name>. kInvalidArgument for an empty or malformed entry.
Result<std::vector<SumdbEndpoint>> ParseSumdbList(std::string_view list);

enum class SumdbFile { kSupported, kLatest, kLookup, kTile };

struct SumdbRequest {
  std::string name;  // database name
  SumdbFile file;
  std::string tail;  // path below the database root ("lookup/...", "tile/...")
  std::string module;   // lookups: case-encoded module path
  std::string version;  // lookups: case-encoded version
  bool full_tile = false;  // tiles without ".p/<W>" never change
  unsigned tile_height = 0;  // tiles: H, hashes per tile are 2^H
  bool data_tile = false;    // tiles: level "data" (records, not hashes)
};

// Parses the part after "/sumdb/": "<name>/supported", "<name>/latest",
// "<name>/lookup/<module>@<version>", "<name>/tile/<H>/<L>/<K>[.p/<W>]".
std::optional<SumdbRequest> ParseSumdbPath(std::string_view rest);

struct GoSums {
  std::string zip_h1;  // "h1:..."
  std::string mod_h1;
};

// Extracts the go.sum lines for `module`@`version` (both unescaped) from a
// lookup answer ("<record id>\n<go.sum lines>\n\n<signed tree head>").
// kCorruption when the answer is malformed or lacks either line.
Result<GoSums> ParseLookupRecord(std::string_view body, std::string_view module, std::string_view version);

}  // namespace cellar::goproxy
