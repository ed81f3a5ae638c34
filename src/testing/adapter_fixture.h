// A bench for the HTTP matrices of the protocol adapters: the in-memory
// cache of PullThroughFixture (fake clock, scripted upstream), an
// Authenticator with one token per role, the ProtocolContext built the way
// server/app.cc builds it, a Router the test registers its adapters on, and
// a HandlerHarness that drives it in-process; a Filler for the pull-through
// adapters. Test-only.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/thread_pool.hpp>

#include "auth/authenticator.h"
#include "core/filler.h"
#include "http/router.h"
#include "protocols/common/protocol.h"
#include "testing/handler_harness.h"
#include "testing/pull_through_fixture.h"

namespace cellar::testing {

// The tokens every matrix uses.
inline constexpr std::string_view kWriterToken = "writer-secret-0123456789";  // read, write
inline constexpr std::string_view kReaderToken = "reader-secret-0123456789";  // read only
inline constexpr std::string_view kAdminToken = "admin-secret-0123456789";    // everything
// read and write, but only in the namespace "elsewhere": the wrong scope.
inline constexpr std::string_view kElsewhereToken = "elsewhere-secret-0123456789";

class AdapterFixture : public PullThroughFixture {
 protected:
  explicit AdapterFixture(bool share_entries = false)
      : PullThroughFixture(share_entries),
        spool_dir_{MakeTempDir()},
        filler_(cache_, spool_dir_.path),
        auth_(Tokens(), /*anonymous_scopes=*/0),
        ctx_{cache_, workers_, auth_, kMaxEntryBytes, &upstream_waits_},
        harness_(router_) {}
  ~AdapterFixture() override {
    // Fills may still run on the pools; they use the cache, which goes next.
    workers_.join();
    upstream_waits_.join();
    adapters_.clear();
  }

  static std::string MakeTempDir() {
    std::string tmpl = ::testing::TempDir() + "/cellar-adapter-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    return tmpl;
  }

  static std::vector<auth::TokenSpec> Tokens() {
    return {
        {"writer", std::string(kWriterToken), auth::kScopeRead | auth::kScopeWrite, {}},
        {"reader", std::string(kReaderToken), auth::kScopeRead, {}},
        {"admin", std::string(kAdminToken), auth::kScopeAll, {}},
        {"elsewhere", std::string(kElsewhereToken), auth::kScopeRead | auth::kScopeWrite, {"elsewhere"}},
    };
  }

  // Registers the adapter's routes and keeps it alive for the test.
  template <typename Adapter>
  Adapter& Add(std::unique_ptr<Adapter> adapter) {
    adapter->RegisterRoutes(router_);
    Adapter& a = *adapter;
    adapters_.push_back(std::move(adapter));
    return a;
  }

  // The request with the writer's, reader's, ... token.
  static HeaderPairs As(std::string_view token, HeaderPairs more = {}) {
    more.push_back(Bearer(token));
    return more;
  }
  TestResponse Get(const std::string& target, std::string_view token = kWriterToken, HeaderPairs more = {}) {
    return harness_.Get(target, As(token, std::move(more)));
  }
  TestResponse Head(const std::string& target, std::string_view token = kWriterToken) {
    return harness_.Head(target, As(token));
  }
  TestResponse Put(const std::string& target, std::string body, std::string_view token = kWriterToken,
                   HeaderPairs more = {}) {
    return harness_.Put(target, std::move(body), As(token, std::move(more)));
  }
  TestResponse Post(const std::string& target, std::string body, std::string_view token = kWriterToken,
                    HeaderPairs more = {}) {
    return harness_.Post(target, std::move(body), As(token, std::move(more)));
  }

  // Entries in the index (all namespaces).
  uint64_t Entries() {
    auto totals = index_.GetTotals();
    return totals.ok() ? totals->entries : ~uint64_t{0};
  }

  static constexpr uint64_t kMaxEntryBytes = 1 << 20;

  boost::asio::thread_pool workers_{2};
  boost::asio::thread_pool upstream_waits_{2};
  struct RemoveDir {
    std::string path;
    ~RemoveDir() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  };
  RemoveDir spool_dir_;
  core::Filler filler_;
  auth::Authenticator auth_;
  protocols::ProtocolContext ctx_;
  http::Router router_;
  HandlerHarness harness_;
  std::vector<std::unique_ptr<protocols::ProtocolAdapter>> adapters_;
};

}  // namespace cellar::testing
