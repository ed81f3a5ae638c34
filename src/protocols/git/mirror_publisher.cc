#include "protocols/git/mirror_publisher.h"

#include "base/log.h"
#include "base/strings.h"

namespace cellar::git {

MirrorPublisher::MirrorPublisher(SharedGitTier& tier, MirrorStore& mirrors,
                                 std::function<void(bool, const PublishResult&)> on_published)
    : tier_(tier), mirrors_(mirrors), on_published_(std::move(on_published)), worker_([this] { Run(); }) {}

MirrorPublisher::~MirrorPublisher() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

void MirrorPublisher::Schedule(const std::string& repo_key) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || !queued_.insert(repo_key).second) return;
    queue_.push_back(repo_key);
  }
  cv_.notify_all();
}

void MirrorPublisher::WaitIdle() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return (queue_.empty() && !busy_) || stopping_; });
}

void MirrorPublisher::Run() {
  for (;;) {
    std::string repo_key;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      repo_key = std::move(queue_.front());
      queue_.pop_front();
      queued_.erase(repo_key);
      busy_ = true;
    }
    // Held in use so eviction leaves the mirror alone while git reads it.
    mirrors_.BeginUse(repo_key);
    Result<PublishResult> published = mirrors_.Exists(repo_key)
                                          ? tier_.Publish(repo_key, mirrors_.PathFor(repo_key))
                                          : Result<PublishResult>(PublishResult{});
    mirrors_.EndUse(repo_key);
    if (!published.ok()) {
      Log(LogLevel::kWarn, "git mirror not published to the shared tier",
          "\"repo\":\"" + JsonEscape(repo_key) + "\",\"error\":\"" + JsonEscape(published.status().ToString()) + "\"");
    }
    if (on_published_) on_published_(published.ok(), published.ok() ? *published : PublishResult{});
    {
      std::lock_guard lock(mu_);
      busy_ = false;
    }
    cv_.notify_all();
  }
}

}  // namespace cellar::git
