#include "core/filler.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <optional>
#include <thread>
#include <vector>

#include "base/log.h"
#include "base/strings.h"
#include "trace/current_span.h"
#include "trace/tracer.h"

namespace cellar::core {

struct FillState {
  enum class Phase { kOpening, kStreaming, kDone, kFailed };
  std::mutex mu;
  std::condition_variable cv;
  Phase phase = Phase::kOpening;  // GUARDED_BY(mu)
  Status error;                   // GUARDED_BY(mu)
  uint64_t written = 0;           // GUARDED_BY(mu)
  std::optional<uint64_t> size;   // GUARDED_BY(mu)
  bool stored = true;             // GUARDED_BY(mu); false: passed through, not kept
  std::string content_type;
  int spool_fd = -1;              // GUARDED_BY(mu) once readers exist; only the fill thread changes it
  std::vector<int> retired_fds;   // earlier spools, open until the end for readers mid-pread
  ~FillState() {
    if (spool_fd >= 0) ::close(spool_fd);
    for (int fd : retired_fds) ::close(fd);
  }
};

namespace {

// Moves the first `bytes` of the spool into memory: the file system is full,
// and the readers of a pass-through still need somewhere to read from.
Status MoveSpoolToMemory(FillState& state, uint64_t bytes) {
  int mem = ::memfd_create("cellar-fill-spool", MFD_CLOEXEC);
  if (mem < 0) return Status::FromErrno(errno, "create in-memory fill spool");
  std::vector<char> buf(256 * 1024);
  for (uint64_t pos = 0; pos < bytes;) {
    ssize_t n = ::pread(state.spool_fd, buf.data(), std::min<uint64_t>(buf.size(), bytes - pos), static_cast<off_t>(pos));
    if (n > 0 && ::pwrite(mem, buf.data(), static_cast<size_t>(n), static_cast<off_t>(pos)) == n) {
      pos += static_cast<uint64_t>(n);
      continue;
    }
    Status s = Status::FromErrno(n < 0 ? errno : EIO, "copy fill spool to memory");
    ::close(mem);
    return s;
  }
  std::lock_guard lock(state.mu);
  state.retired_fds.push_back(state.spool_fd);
  state.spool_fd = mem;
  return Status();
}

// Appends `n` bytes at `offset`; a full file system moves the spool to
// memory once.
Status WriteSpool(FillState& state, const std::byte* data, size_t n, uint64_t offset) {
  size_t done = 0;
  bool moved = false;
  while (done < n) {
    ssize_t w = ::pwrite(state.spool_fd, data + done, n - done, static_cast<off_t>(offset + done));
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == ENOSPC || errno == EDQUOT) && !moved) {
      CELLAR_RETURN_IF_ERROR(MoveSpoolToMemory(state, offset + done));
      moved = true;
      continue;
    }
    if (w <= 0) return Status::FromErrno(errno, "write fill spool");
    done += static_cast<size_t>(w);
  }
  return Status();
}

// The bytes of an entry another node of the fleet filled, read back
// through this node's cache in place of an upstream transfer.
class HitSource : public UpstreamSource {
 public:
  explicit HitSource(std::unique_ptr<Hit> hit) : hit_(std::move(hit)) {}
  std::optional<uint64_t> size() const override { return hit_->entry().size; }
  Result<size_t> Read(std::span<std::byte> out) override { return hit_->reader().Read(out); }

 private:
  std::unique_ptr<Hit> hit_;
};

}  // namespace

FillReader::~FillReader() = default;

std::optional<uint64_t> FillReader::size() const {
  if (hit_) return hit_->entry().size;
  std::lock_guard lock(fill_->mu);
  if (!fill_->size && fill_->phase == FillState::Phase::kDone) return fill_->written;
  return fill_->size;
}

bool FillReader::stored() const {
  if (hit_) return true;
  std::lock_guard lock(fill_->mu);
  return fill_->stored;
}

Status FillReader::WaitForEnd() {
  if (hit_) return Status();
  std::unique_lock lock(fill_->mu);
  fill_->cv.wait(lock, [&] {
    return fill_->phase == FillState::Phase::kDone || fill_->phase == FillState::Phase::kFailed;
  });
  return fill_->phase == FillState::Phase::kFailed ? fill_->error : Status();
}

std::string FillReader::attributes() const { return hit_ ? hit_->entry().attributes : "{}"; }

Result<size_t> FillReader::Read(std::span<std::byte> out) {
  if (hit_) return hit_->reader().Read(out);
  FillState& f = *fill_;
  // The last byte is held back until the fill is verified and committed, so
  // a reader that knows the length can never deliver a complete body that
  // later fails verification.
  auto readable = [&f] {
    if (f.phase == FillState::Phase::kDone) return f.written;
    return f.written > 0 ? f.written - 1 : 0;
  };
  std::unique_lock lock(f.mu);
  f.cv.wait(lock, [&] {
    return readable() > pos_ || f.phase == FillState::Phase::kDone ||
           f.phase == FillState::Phase::kFailed;
  });
  if (f.phase == FillState::Phase::kFailed) return f.error;
  if (readable() == pos_) return size_t{0};  // done and fully read
  size_t want = static_cast<size_t>(std::min<uint64_t>(out.size(), readable() - pos_));
  const int spool = f.spool_fd;  // may move to memory later; this one stays open
  lock.unlock();
  ssize_t n = ::pread(spool, out.data(), want, static_cast<off_t>(pos_));
  if (n < 0) return Status::FromErrno(errno, "read fill spool");
  if (n == 0) return Status::Internal("fill spool shorter than recorded");
  pos_ += static_cast<uint64_t>(n);
  return static_cast<size_t>(n);
}

Filler::Filler(CacheService& cache, std::string spool_dir, FleetFillLock* fleet)
    : cache_(cache), spool_dir_(std::move(spool_dir)), fleet_(fleet) {}

std::optional<std::unique_ptr<Hit>> Filler::FillFromFleet(const PutOptions& put, FleetFillLock::Hold& hold) {
  if (fleet_ == nullptr || !cache_.Shares(put)) return std::nullopt;
  hold = fleet_->Acquire(FleetFillLock::LeaseKey(put.ns, put.key));
  if (!hold.waited) return std::nullopt;
  // The node that held the key has published its entry, unless its fill
  // failed: look again, past a miss remembered before it did.
  cache_.ForgetSharedMiss(put.ns, put.key);
  auto hit = cache_.Get(put.ns, put.key);
  if (!hit.ok() || !*hit) return std::nullopt;
  return std::move(*hit);
}

Filler::~Filler() {
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [&] { return running_ == 0; });
}

uint64_t Filler::fills_started() const {
  std::lock_guard lock(mu_);
  return fills_started_;
}

Result<std::unique_ptr<FillReader>> Filler::GetOrFill(FillSpec spec) {
  const std::string ns = spec.put.ns;
  const std::string key = spec.put.key;
  std::shared_ptr<FillState> state;
  {
    std::lock_guard lock(mu_);
    auto it = in_flight_.find({ns, key});
    if (it != in_flight_.end()) {
      state = it->second;
      cache_.metrics().fill_waiters.With({ns.substr(0, ns.find('/'))}).Inc();
    }
  }
  if (!state) {
    CELLAR_ASSIGN_OR_RETURN(auto hit, cache_.Get(ns, key));
    if (hit) {
      auto reader = std::unique_ptr<FillReader>(new FillReader());
      reader->content_type_ = (*hit)->entry().content_type;
      reader->hit_ = std::move(*hit);
      return reader;
    }
    std::lock_guard lock(mu_);
    auto it = in_flight_.find({ns, key});
    if (it != in_flight_.end()) {
      state = it->second;  // another request started it meanwhile
    } else {
      state = std::make_shared<FillState>();
      state->content_type = spec.put.content_type;
      state->spool_fd = ::open(spool_dir_.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
      if (state->spool_fd < 0) return Status::FromErrno(errno, "create fill spool in " + spool_dir_);
      in_flight_[{ns, key}] = state;
      ++fills_started_;
      ++running_;
      // The request that starts a fill owns its span; requests that join
      // it wait inside their own spans.
      std::optional<trace::CurrentSpan> requester;
      if (const trace::CurrentSpan* current = trace::Current()) requester = *current;
      std::thread([this, state, spec = std::move(spec), requester]() mutable {
        {
          trace::Tracer* tracer = requester ? requester->tracer : nullptr;
          trace::ScopedSpan span(tracer, requester ? &requester->context : nullptr, "fill");
          span.Set("cellar.namespace", spec.put.ns);
          span.Set("cellar.key", spec.put.key);
          trace::CurrentScope scope(tracer, span.context());
          RunFill(state, std::move(spec));
          std::lock_guard lock(state->mu);
          if (state->phase == FillState::Phase::kFailed) span.SetError(state->error.message());
          span.Set("cellar.fill_bytes", static_cast<int64_t>(state->written));
        }
        // Every local of the fill (the pending put's destructor uses the
        // cache) is gone before the count that ~Filler waits for drops.
        std::lock_guard lock(mu_);
        --running_;
        idle_cv_.notify_all();
      }).detach();
    }
  }
  {
    std::unique_lock lock(state->mu);
    state->cv.wait(lock, [&] { return state->phase != FillState::Phase::kOpening; });
    if (state->phase == FillState::Phase::kFailed && state->written == 0) return state->error;
  }
  auto reader = std::unique_ptr<FillReader>(new FillReader());
  reader->content_type_ = state->content_type;
  reader->fill_ = std::move(state);
  return reader;
}

void Filler::RunFill(std::shared_ptr<FillState> state, FillSpec spec) {
  const std::string ns = spec.put.ns;
  const std::string key = spec.put.key;
  auto fail = [&](Status s) {
    std::lock_guard lock(state->mu);
    state->phase = FillState::Phase::kFailed;
    state->error = std::move(s);
    state->cv.notify_all();
  };
  // The verifier runs here rather than in the put, so the bytes are checked
  // even when the store cannot keep them.
  std::unique_ptr<Verifier> verifier = std::move(spec.put.verifier);
  const std::string label = ns.substr(0, ns.find('/'));
  std::unique_ptr<PendingPut> put;
  bool passing_through = false;
  // The store cannot keep the bytes: go on without it (the readers still get
  // them) rather than fail every reader of a fill the upstream answered.
  auto stop_storing = [&](const Status& why) {
    put.reset();
    if (passing_through) return;
    passing_through = true;
    Log(LogLevel::kWarn, "fill passed through without caching",
        "\"ns\":\"" + JsonEscape(ns) + "\",\"key\":\"" + JsonEscape(key) + "\",\"error\":\"" +
            JsonEscape(why.message()) + "\"");
  };
  // Held until the entry is committed and published, so that a node
  // waiting for it finds the entry when it gets the lease.
  FleetFillLock::Hold fleet_hold;
  bool from_fleet = false;
  Status result = [&]() -> Status {
    std::unique_ptr<UpstreamSource> source;
    if (auto filled = FillFromFleet(spec.put, fleet_hold)) {
      // Stored already (recovered into this node's index): the bytes only
      // go to this fill's readers, checked by the verifier as any fill's.
      source = std::make_unique<HitSource>(std::move(*filled));
      from_fleet = true;
    } else {
      CELLAR_ASSIGN_OR_RETURN(source, spec.open());
    }
    {
      std::lock_guard lock(state->mu);
      state->size = source->size();
      state->phase = FillState::Phase::kStreaming;
      state->cv.notify_all();
    }
    if (!from_fleet) {
      // Room for an announced length is made (evicting if need be) before
      // the first byte.
      spec.put.expected_size = source->size();
      auto begun = cache_.BeginPut(std::move(spec.put));
      if (begun.ok()) put = std::move(*begun);
      else stop_storing(begun.error());
      if (auto expected = source->size(); put && expected) {
        if (Status s = put->Reserve(*expected); !s.ok()) stop_storing(s);
      }
    }
    std::vector<std::byte> buf(256 * 1024);
    uint64_t offset = 0;
    while (true) {
      CELLAR_ASSIGN_OR_RETURN(size_t n, source->Read(buf));
      if (n == 0) break;
      auto data = std::span<const std::byte>(buf.data(), n);
      if (verifier) verifier->Update(data);
      if (put) {
        if (Status s = put->Write(data); !s.ok()) stop_storing(s);
      }
      CELLAR_RETURN_IF_ERROR(WriteSpool(*state, buf.data(), n, offset));
      offset += n;
      std::lock_guard lock(state->mu);
      state->written = offset;
      state->cv.notify_all();
    }
    if (auto expected = source->size(); expected && *expected != offset) {
      return Status::Unavailable("upstream sent " + std::to_string(offset) + " of " +
                                 std::to_string(*expected) + " bytes");
    }
    if (verifier) {
      if (Status s = verifier->Finish(offset); !s.ok()) {
        cache_.metrics().rejected.With({label, "verification"}).Inc();
        return s;
      }
    }
    if (spec.before_commit) CELLAR_RETURN_IF_ERROR(spec.before_commit(state->spool_fd, offset, put.get()));
    if (put) {
      if (auto committed = put->Commit(); !committed.ok()) stop_storing(committed.status());
    }
    return Status();
  }();

  if (result.ok()) {
    cache_.metrics().fills.With({label, passing_through ? "uncached" : from_fleet ? "fleet" : "ok"}).Inc();
  } else {
    cache_.metrics().fills.With({label, result.IsNotFound() ? "not_found" : "error"}).Inc();
  }
  {
    // Leave the in-flight map before waking readers, so a request arriving
    // after a failure starts a fresh fill and one after success hits.
    std::lock_guard lock(mu_);
    in_flight_.erase({ns, key});
  }
  if (result.ok()) {
    std::lock_guard lock(state->mu);
    state->stored = !passing_through;
    state->phase = FillState::Phase::kDone;
    state->cv.notify_all();
  } else {
    fail(result);
  }
}

}  // namespace cellar::core
