#include "trace/traced_http_client.h"

#include "trace/current_span.h"
#include "trace/tracer.h"

namespace cellar::trace {

namespace {

// The response with its span, which ends when the body is done with.
class TracedResponse : public env::HttpResponse {
 public:
  TracedResponse(std::unique_ptr<env::HttpResponse> inner, std::unique_ptr<ScopedSpan> span)
      : inner_(std::move(inner)), span_(std::move(span)) {}
  const env::HttpResponseHead& head() const override { return inner_->head(); }
  Result<size_t> Read(std::span<std::byte> out) override {
    auto n = inner_->Read(out);
    if (n.ok()) {
      bytes_ += *n;
    } else if (!failed_) {
      failed_ = true;
      span_->SetError("body: " + n.error().message());
    }
    return n;
  }
  ~TracedResponse() override { span_->Set("http.response.body.size", static_cast<int64_t>(bytes_)); }

 private:
  std::unique_ptr<env::HttpResponse> inner_;
  std::unique_ptr<ScopedSpan> span_;
  uint64_t bytes_ = 0;
  bool failed_ = false;
};

}  // namespace

Result<std::unique_ptr<env::HttpResponse>> TracedHttpClient::Send(const env::HttpRequest& request) {
  const CurrentSpan* current = Current();
  if (!current) return inner_.Send(request);
  auto span = std::make_unique<ScopedSpan>(current->tracer, &current->context, "upstream " + request.method,
                                           SpanKind::kClient);
  span->Set("http.request.method", request.method);
  span->Set("url.full", env::RedactUrl(request.url));
  env::HttpRequest traced = request;
  traced.headers.emplace_back("traceparent", FormatTraceparent(*span->context()));
  auto response = inner_.Send(traced);
  if (!response.ok()) {
    span->SetError(response.error().message());
    return response;
  }
  const int status = (*response)->head().status;
  span->Set("http.response.status_code", static_cast<int64_t>(status));
  if (status >= 500) span->SetError("HTTP " + std::to_string(status));
  return std::unique_ptr<env::HttpResponse>(std::make_unique<TracedResponse>(std::move(*response), std::move(span)));
}

}  // namespace cellar::trace
