#include "tasks/cache/curl_transfer.h"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <mutex>

#include "base/strings.h"
#include "tasks/cache/artifact_key.h"
#include "tasks/cache/url_origin.h"

namespace cellar::taskcache {

namespace {

constexpr size_t kMaxKeptBody = 64 << 10;

struct Exchange {
  const TransferRequest* request = nullptr;
  CURL* curl = nullptr;
  TransferReply reply;
  Status local_error;  // sink or upload file failure
  uint64_t uploaded = 0;
};

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  std::string_view line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {  // a new response (e.g. after 100 Continue)
    ex->reply.content_length.reset();
    ex->reply.chunked = false;
    return size * n;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string_view name = TrimWhitespace(line.substr(0, colon));
  std::string_view value = TrimWhitespace(line.substr(colon + 1));
  if (EqualsIgnoreCase(name, "Content-Length")) ex->reply.content_length = ParseUint64(value);
  if (EqualsIgnoreCase(name, "Transfer-Encoding") && ToLower(value).find("chunked") != std::string::npos) {
    ex->reply.chunked = true;
  }
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  const size_t len = size * n;
  long status = 0;
  curl_easy_getinfo(ex->curl, CURLINFO_RESPONSE_CODE, &status);
  ex->reply.body_bytes += len;
  if (ex->request->sink && status >= 200 && status < 300) {
    ex->local_error = ex->request->sink(data, len);
    return ex->local_error.ok() ? len : 0;  // 0 aborts the transfer
  }
  const size_t keep = std::min(len, kMaxKeptBody - std::min(kMaxKeptBody, ex->reply.body.size()));
  ex->reply.body.append(data, keep);
  return len;
}

size_t OnUploadRead(char* buffer, size_t size, size_t n, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  const uint64_t left = ex->request->upload_size - ex->uploaded;
  const size_t want = static_cast<size_t>(std::min<uint64_t>(size * n, left));
  if (want == 0) return 0;
  for (;;) {
    ssize_t got = ::read(ex->request->upload_fd, buffer, want);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      ex->local_error = LocalFileError(errno, "read the file being uploaded");
      return CURL_READFUNC_ABORT;
    }
    if (got == 0) {  // the file shrank under us: never send a short body
      ex->local_error = Status::Aborted("the file being uploaded shrank while it was sent");
      return CURL_READFUNC_ABORT;
    }
    ex->uploaded += static_cast<uint64_t>(got);
    return static_cast<size_t>(got);
  }
}

Status CurlFailure(CURLcode code, const Exchange& ex) {
  if (!ex.local_error.ok()) return ex.local_error;
  const std::string what = std::string(curl_easy_strerror(code)) + " (" + ex.request->method + " " +
                           UrlForMessages(ex.request->url) + ")";
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT: return Status::Unavailable(what);
    case CURLE_OPERATION_TIMEDOUT: return Status::DeadlineExceeded(what);
    default: return Status::Aborted(what);
  }
}

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

Result<TransferReply> PerformTransfer(const TransferRequest& request) {
  GlobalInitOnce();
  Exchange ex;
  ex.request = &request;
  ex.curl = curl_easy_init();
  if (ex.curl == nullptr) return Status::ResourceExhausted("curl_easy_init failed");
  CURL* curl = ex.curl;
  curl_slist* headers = nullptr;
  for (const auto& [name, value] : request.headers) {
    headers = curl_slist_append(headers, (name + ": " + value).c_str());
  }
  // Send the body at once instead of waiting for a "100 Continue" the
  // server may never send.
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, nullptr);  // bytes exactly as stored
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.timeouts.connect.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeouts.total.count()));
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, static_cast<long>(request.timeouts.low_speed_bytes_per_s));
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME,
                   std::max(1L, static_cast<long>(request.timeouts.low_speed_time.count())));
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &ex);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &ex);
  if (request.method == "PUT" && request.upload_fd >= 0) {
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.upload_size));
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, OnUploadRead);
    curl_easy_setopt(curl, CURLOPT_READDATA, &ex);
  } else if (request.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
  } else if (request.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  const CURLcode code = curl_easy_perform(curl);
  Result<TransferReply> result = Status::Internal("unset");
  if (code == CURLE_OK) {
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    ex.reply.status = static_cast<int>(status);
    char* redirect = nullptr;
    if (curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &redirect) == CURLE_OK && redirect != nullptr) {
      ex.reply.redirect_url = redirect;
    }
    result = std::move(ex.reply);
  } else {
    result = CurlFailure(code, ex);
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return result;
}

}  // namespace cellar::taskcache
