// The dashboard's files (src/ui/assets/), compiled into the binary so the
// page works air-gapped and needs nothing installed beside cellar.
// Thread-safety: immutable after first use.
#pragma once

#include <string_view>
#include <vector>

namespace cellar::ui {

struct Asset {
  std::string_view name;          // "index.html", "app.js", ...
  std::string_view content_type;
  std::string_view body;
};

const std::vector<Asset>& Assets();

}  // namespace cellar::ui
