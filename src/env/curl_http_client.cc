#include "env/curl_http_client.h"

#include <curl/curl.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "base/strings.h"

namespace cellar::env {

namespace {

constexpr size_t kMaxQueuedBytes = 4 << 20;  // back-pressure threshold

// State shared by the transfer thread (producer) and the reader.
struct Transfer {
  std::mutex mu;
  std::condition_variable cv;
  HttpResponseHead head;       // GUARDED_BY(mu) until headers_done
  bool headers_done = false;   // GUARDED_BY(mu)
  bool finished = false;       // GUARDED_BY(mu)
  bool cancelled = false;      // GUARDED_BY(mu)
  Status error;                // GUARDED_BY(mu)
  std::deque<std::string> chunks;  // GUARDED_BY(mu)
  size_t queued = 0;               // GUARDED_BY(mu)
  size_t front_offset = 0;         // GUARDED_BY(mu)
  HeaderList pending_headers;      // headers of the current (possibly redirected) response
  int pending_status = 0;
};

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    t->pending_headers.clear();
    size_t sp = line.find(' ');
    t->pending_status = sp == std::string_view::npos ? 0 : std::atoi(std::string(line.substr(sp + 1, 3)).c_str());
    return size * n;
  }
  line = TrimWhitespace(line);
  if (size_t colon = line.find(':'); colon != std::string_view::npos) {
    t->pending_headers.emplace_back(std::string(TrimWhitespace(line.substr(0, colon))),
                                    std::string(TrimWhitespace(line.substr(colon + 1))));
  }
  return size * n;
}

void PublishHead(Transfer* t) {
  std::lock_guard lock(t->mu);
  if (t->headers_done) return;
  t->head.status = t->pending_status;
  t->head.headers = t->pending_headers;
  t->headers_done = true;
  t->cv.notify_all();
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  PublishHead(t);
  std::unique_lock lock(t->mu);
  t->cv.wait(lock, [&] { return t->queued < kMaxQueuedBytes || t->cancelled; });
  if (t->cancelled) return 0;  // aborts the transfer
  t->chunks.emplace_back(data, size * n);
  t->queued += size * n;
  t->cv.notify_all();
  return size * n;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  std::lock_guard lock(t->mu);
  return t->cancelled ? 1 : 0;
}

class CurlResponse : public HttpResponse {
 public:
  CurlResponse(std::shared_ptr<Transfer> t, std::thread thread)
      : t_(std::move(t)), thread_(std::move(thread)) {}
  ~CurlResponse() override {
    {
      std::lock_guard lock(t_->mu);
      t_->cancelled = true;
      t_->cv.notify_all();
    }
    thread_.join();
  }
  const HttpResponseHead& head() const override { return t_->head; }
  Result<size_t> Read(std::span<std::byte> out) override {
    std::unique_lock lock(t_->mu);
    t_->cv.wait(lock, [&] { return !t_->chunks.empty() || t_->finished; });
    if (t_->chunks.empty()) {
      if (!t_->error.ok()) return t_->error;
      return size_t{0};
    }
    std::string& front = t_->chunks.front();
    size_t n = std::min(out.size(), front.size() - t_->front_offset);
    std::memcpy(out.data(), front.data() + t_->front_offset, n);
    t_->front_offset += n;
    if (t_->front_offset == front.size()) {
      t_->queued -= front.size();
      t_->chunks.pop_front();
      t_->front_offset = 0;
      t_->cv.notify_all();
    }
    return n;
  }

 private:
  std::shared_ptr<Transfer> t_;
  std::thread thread_;
};

Status CurlError(CURLcode code, const std::string& url) {
  std::string msg = std::string(curl_easy_strerror(code)) + " (" + RedactUrl(url) + ")";
  if (code == CURLE_OPERATION_TIMEDOUT) return Status::DeadlineExceeded(msg);
  return Status::Unavailable(msg);
}

void RunTransfer(std::shared_ptr<Transfer> t, HttpRequest req) {
  CURL* curl = curl_easy_init();
  curl_slist* headers = nullptr;
  for (const auto& [k, v] : req.headers) headers = curl_slist_append(headers, (k + ": " + v).c_str());
  curl_easy_setopt(curl, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  if (req.method == "HEAD") curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  if (!req.body.empty()) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req.body.data());  // req outlives the transfer
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, req.follow_redirects ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
  // Custom Authorization headers are dropped by libcurl when a redirect
  // leaves the original host; keep it that way explicitly.
  curl_easy_setopt(curl, CURLOPT_UNRESTRICTED_AUTH, 0L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(req.connect_timeout.count()));
  // Idle timeout: abort when fewer than 1 byte/s arrive for idle_timeout.
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, std::max(1L, static_cast<long>(req.idle_timeout.count() / 1000)));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, nullptr);  // bytes exactly as sent
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, t.get());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, t.get());
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, t.get());
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  CURLcode code = curl_easy_perform(curl);
  if (code == CURLE_OK) PublishHead(t.get());  // bodiless responses
  {
    std::lock_guard lock(t->mu);
    if (code != CURLE_OK && !t->cancelled) t->error = CurlError(code, req.url);
    t->finished = true;
    t->cv.notify_all();
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
}

}  // namespace

CurlHttpClient::CurlHttpClient() { curl_global_init(CURL_GLOBAL_DEFAULT); }
CurlHttpClient::~CurlHttpClient() = default;

Result<std::unique_ptr<HttpResponse>> CurlHttpClient::Send(const HttpRequest& request) {
  auto t = std::make_shared<Transfer>();
  std::thread thread(RunTransfer, t, request);
  auto response = std::make_unique<CurlResponse>(t, std::move(thread));
  std::unique_lock lock(t->mu);
  t->cv.wait(lock, [&] { return t->headers_done || t->finished; });
  if (!t->headers_done) {
    Status error = t->error.ok() ? Status::Unavailable("no response from " + RedactUrl(request.url)) : t->error;
    lock.unlock();
    return error;
  }
  return std::unique_ptr<HttpResponse>(std::move(response));
}

}  // namespace cellar::env
