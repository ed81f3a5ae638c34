// Answers a request from a pull-through fill (core::Filler). Files up to a
// threshold, and files of unknown length, are sent only once the fill is
// verified and committed, so a refused file is answered with a readable 502
// instead of a cut-off body; larger files stream to the client while they
// download, with the last byte withheld until verification (a refusal then
// cuts the connection, and the reason is in cellar's log and metrics).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/filler.h"
#include "env/http_client.h"
#include "protocols/common/protocol.h"

namespace cellar::protocols {

// Adapts an upstream HTTP response to the Filler's source interface.
class HttpSource : public core::UpstreamSource {
 public:
  explicit HttpSource(std::unique_ptr<env::HttpResponse> resp) : resp_(std::move(resp)) {}
  std::optional<uint64_t> size() const override { return resp_->head().ContentLength(); }
  Result<size_t> Read(std::span<std::byte> out) override { return resp_->Read(out); }

 private:
  std::unique_ptr<env::HttpResponse> resp_;
};

struct FillResponse {
  std::string ns;
  std::string key;
  std::string content_type;
  uint64_t stream_threshold_bytes = 16 << 20;
  // Adds headers derived from the committed entry (e.g. X-Go-Checksum).
  std::function<void(http::Exchange&, const index::Entry&)> decorate;
};

// Returns the fill's failure when it was known before the response started
// (the caller answers it), else OK.
boost::asio::awaitable<Status> SendFromFill(http::Exchange& ex, const ProtocolContext& ctx,
                                            std::unique_ptr<core::FillReader> reader, const FillResponse& how);

}  // namespace cellar::protocols
