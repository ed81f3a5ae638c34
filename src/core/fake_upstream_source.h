// FakeUpstreamSource: a scripted upstream transfer for Filler tests. It
// produces `data` in pieces of at most 1000 bytes, sleeping `delay` before
// each, so that concurrent requests overlap, and can fail half-way.
// Test-only.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "core/filler.h"

namespace cellar::core {

class FakeUpstreamSource : public UpstreamSource {
 public:
  FakeUpstreamSource(std::string data, bool fail_midway, bool announce_size = true,
                     std::chrono::milliseconds delay = std::chrono::milliseconds(2))
      : data_(std::move(data)), fail_(fail_midway), announce_(announce_size), delay_(delay) {}
  std::optional<uint64_t> size() const override {
    return announce_ ? std::optional<uint64_t>(data_.size()) : std::nullopt;
  }
  Result<size_t> Read(std::span<std::byte> out) override {
    std::this_thread::sleep_for(delay_);
    if (fail_ && pos_ >= data_.size() / 2) return Status::Unavailable("upstream reset");
    size_t n = std::min({out.size(), data_.size() - pos_, size_t{1000}});
    std::memcpy(out.data(), data_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string data_;
  bool fail_;
  bool announce_;
  std::chrono::milliseconds delay_;
  size_t pos_ = 0;
};

}  // namespace cellar::core
