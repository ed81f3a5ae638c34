// TracedHttpClient: wraps the upstream HTTP client. Within a CurrentScope it
// records each request as a client span ("upstream GET", from sending to
// the end of the body) under the current span and sends that span's
// traceparent upstream, so the upstream's own trace continues cellar's.
// Outside a scope it adds nothing but a thread-local read.
// Thread-safety: as the wrapped client.
#pragma once

#include "env/http_client.h"

namespace cellar::trace {

class TracedHttpClient : public env::HttpClient {
 public:
  // `inner` must outlive this client.
  explicit TracedHttpClient(env::HttpClient& inner) : inner_(inner) {}
  Result<std::unique_ptr<env::HttpResponse>> Send(const env::HttpRequest& request) override;

 private:
  env::HttpClient& inner_;
};

}  // namespace cellar::trace
