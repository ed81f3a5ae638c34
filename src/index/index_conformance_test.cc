// Runs the shared Index conformance suite against every implementation in
// this directory. The suite defines its tests in the header, so it is
// included from this one file only.
#include "testing/index_conformance.h"

#include "index/mem_index.h"
#include "index/sqlite_index.h"

namespace cellar::testing {
namespace {

using index::Index;
using index::MemIndex;
using index::SqliteIndex;

Result<std::unique_ptr<Index>> OpenSqlite(const std::string& path, const IndexTestContext& ctx) {
  SqliteIndex::Options options;
  options.now_ms = ctx.now_ms;
  CELLAR_ASSIGN_OR_RETURN(std::unique_ptr<SqliteIndex> index,
                          SqliteIndex::Open(path, std::move(options)));
  return std::unique_ptr<Index>(std::move(index));
}

INSTANTIATE_TEST_SUITE_P(
    Index, IndexConformanceTest,
    ::testing::Values(
        IndexFactory{"Mem",
                     [](const IndexTestContext& ctx) -> Result<std::unique_ptr<Index>> {
                       return std::unique_ptr<Index>(std::make_unique<MemIndex>(ctx.now_ms));
                     }},
        IndexFactory{"SqliteMemory",
                     [](const IndexTestContext& ctx) { return OpenSqlite(":memory:", ctx); }},
        IndexFactory{"SqliteFile",
                     [](const IndexTestContext& ctx) {
                       return OpenSqlite(ctx.scratch_dir + "/index.db", ctx);
                     }}),
    IndexFactoryName);

}  // namespace
}  // namespace cellar::testing
