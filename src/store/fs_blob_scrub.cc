// FsBlobStore's scrubber: re-hashes blob files and quarantines bad ones.
#include "store/fs_blob_check.h"
#include "store/fs_blob_store.h"
#include "store/fs_store_context.h"

namespace cellar::store {

Status FsBlobStore::VerifyFile(const Digest& digest, bool quarantine_bad,
                               std::vector<std::byte>& scratch, VerifyReport& report,
                               const ReadPace* pace) {
  CELLAR_ASSIGN_OR_RETURN(std::optional<JudgedFile> file, OpenJudged(*ctx_, digest));
  if (!file.has_value()) return Status::Ok();  // absent, or removed since listed
  Status checked = CheckJudged(*file, digest, scratch, pace);
  if (checked.ok()) {
    ++report.ok;
    return Status::Ok();
  }
  if (!CondemnsBlob(checked)) return checked;

  BadBlob bad{digest, checked.message(), false};
  if (quarantine_bad) {
    CELLAR_ASSIGN_OR_RETURN(bad.quarantined, QuarantineIfUnchanged(*ctx_, digest, *file));
  }
  ++report.bad;
  report.bad_blobs.push_back(std::move(bad));
  return Status::Ok();
}

}  // namespace cellar::store
