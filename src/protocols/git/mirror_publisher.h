// MirrorPublisher: publishes changed mirrors to the shared tier in the
// background, so the client whose fetch changed a mirror never waits for
// the bundle and its upload. One worker thread, one repository at a time;
// a repository scheduled again before its turn is published once.
// A failed publish is logged and counted; the next change schedules it
// again. Thread-safety: Schedule() from any thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "protocols/git/mirror_store.h"
#include "protocols/git/shared_tier.h"

namespace cellar::git {

class MirrorPublisher {
 public:
  // `on_published(ok, result)` after every attempt (metrics).
  MirrorPublisher(SharedGitTier& tier, MirrorStore& mirrors,
                  std::function<void(bool ok, const PublishResult& result)> on_published);
  // Finishes the publish in progress; the rest of the queue is dropped (the
  // next change after a restart schedules them again).
  ~MirrorPublisher();

  void Schedule(const std::string& repo_key);
  // Blocks until the queue is empty and nothing is being published (tests).
  void WaitIdle();

 private:
  void Run();

  SharedGitTier& tier_;
  MirrorStore& mirrors_;
  std::function<void(bool, const PublishResult&)> on_published_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  std::set<std::string> queued_;
  bool busy_ = false;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace cellar::git
