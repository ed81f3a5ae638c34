// CurlHttpClient: HttpClient over libcurl. Each transfer runs on its own
// thread and hands body chunks to the reader through a small bounded queue,
// so a slow reader slows the download instead of buffering it.
#pragma once

#include "env/http_client.h"

namespace cellar::env {

class CurlHttpClient : public HttpClient {
 public:
  CurlHttpClient();
  ~CurlHttpClient() override;
  Result<std::unique_ptr<HttpResponse>> Send(const HttpRequest& request) override;
};

}  // namespace cellar::env
