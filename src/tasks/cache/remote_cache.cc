#include "tasks/cache/remote_cache.h"

namespace cellar::taskcache {

bool DisablesRemote(const Status& status) {
  return status.code() == Code::kUnavailable || status.code() == Code::kUnauthenticated ||
         status.code() == Code::kPermissionDenied;
}

}  // namespace cellar::taskcache
