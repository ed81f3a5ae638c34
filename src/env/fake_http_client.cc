#include "env/fake_http_client.h"

#include <algorithm>
#include <cstring>

#include "base/strings.h"

namespace cellar::env {

namespace {

class FakeResponse : public HttpResponse {
 public:
  explicit FakeResponse(FakeReply reply) : reply_(std::move(reply)) {
    head_.status = reply_.status;
    head_.headers = reply_.headers;
  }
  const HttpResponseHead& head() const override { return head_; }
  Result<size_t> Read(std::span<std::byte> out) override {
    const bool faulty =
        reply_.fault == FakeReply::Fault::kBreakBody || reply_.fault == FakeReply::Fault::kStallBody;
    size_t end = faulty ? std::min(reply_.fault_after, reply_.body.size()) : reply_.body.size();
    if (pos_ == end && faulty) {
      if (reply_.fault == FakeReply::Fault::kBreakBody) return Status::Unavailable("connection reset mid-body");
      return Status::DeadlineExceeded("upstream stalled mid-body");
    }
    size_t n = std::min(out.size(), end - pos_);
    std::memcpy(out.data(), reply_.body.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  FakeReply reply_;
  HttpResponseHead head_;
  size_t pos_ = 0;
};

}  // namespace

FakeReply FakeReply::Ok(std::string body, HeaderList headers) {
  FakeReply r;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

FakeReply FakeReply::WithStatus(int status, std::string body) {
  FakeReply r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

FakeReply FakeReply::Refuse() {
  FakeReply r;
  r.fault = Fault::kRefuse;
  return r;
}

FakeReply FakeReply::Timeout() {
  FakeReply r;
  r.fault = Fault::kTimeout;
  return r;
}

FakeReply FakeReply::BreakAfter(std::string body, size_t bytes) {
  FakeReply r = Ok(std::move(body));
  r.fault = Fault::kBreakBody;
  r.fault_after = bytes;
  return r;
}

FakeReply FakeReply::StallAfter(std::string body, size_t bytes) {
  FakeReply r = Ok(std::move(body));
  r.fault = Fault::kStallBody;
  r.fault_after = bytes;
  return r;
}

std::optional<std::string> FakeHttpClient::Call::Header(std::string_view name) const {
  std::optional<std::string> value;
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) value = v;
  }
  return value;
}

void FakeHttpClient::Set(const std::string& url, FakeReply reply) {
  std::lock_guard lock(mu_);
  auto& q = replies_[url];
  q.clear();
  q.push_back(std::move(reply));
}

void FakeHttpClient::Queue(const std::string& url, FakeReply reply) {
  std::lock_guard lock(mu_);
  replies_[url].push_back(std::move(reply));
}

void FakeHttpClient::Clear(const std::string& url) {
  std::lock_guard lock(mu_);
  replies_.erase(url);
}

void FakeHttpClient::SetDown(bool down) {
  std::lock_guard lock(mu_);
  down_ = down;
}

Result<std::unique_ptr<HttpResponse>> FakeHttpClient::Send(const HttpRequest& request) {
  FakeReply reply;
  {
    std::lock_guard lock(mu_);
    calls_.push_back({request.method, request.url, request.headers, request.body});
    auto it = replies_.find(request.url);
    if (down_ || it == replies_.end() || it->second.empty()) {
      reply = FakeReply::Refuse();
    } else {
      reply = it->second.front();
      if (it->second.size() > 1) it->second.pop_front();
    }
  }
  if (reply.fault == FakeReply::Fault::kRefuse) {
    return Status::Unavailable("connection refused: " + RedactUrl(request.url));
  }
  if (reply.fault == FakeReply::Fault::kTimeout) {
    return Status::DeadlineExceeded("timed out waiting for " + RedactUrl(request.url));
  }
  return std::unique_ptr<HttpResponse>(new FakeResponse(std::move(reply)));
}

std::vector<FakeHttpClient::Call> FakeHttpClient::calls() const {
  std::lock_guard lock(mu_);
  return calls_;
}

size_t FakeHttpClient::CallCount(const std::string& url) const {
  std::lock_guard lock(mu_);
  return static_cast<size_t>(
      std::count_if(calls_.begin(), calls_.end(), [&](const Call& c) { return c.url == url; }));
}

std::optional<FakeHttpClient::Call> FakeHttpClient::LastCall(const std::string& url) const {
  std::lock_guard lock(mu_);
  for (auto it = calls_.rbegin(); it != calls_.rend(); ++it) {
    if (it->url == url) return *it;
  }
  return std::nullopt;
}

}  // namespace cellar::env
