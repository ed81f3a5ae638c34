#include "store/outbox/outbox.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>

#include "base/log.h"
#include "base/strings.h"
#include "store/outbox/record_file.h"

namespace cellar::outbox {

namespace {
constexpr std::string_view kRecordSuffix = ".rec";
constexpr std::string_view kTempSuffix = ".tmp";
constexpr size_t kSeqDigits = 20;

// The sequence number of "<20 digits><suffix>", or nullopt.
std::optional<uint64_t> SeqOf(std::string_view name, std::string_view suffix) {
  if (name.size() != kSeqDigits + suffix.size() || !name.ends_with(suffix)) return std::nullopt;
  return ParseUint64(name.substr(0, kSeqDigits));
}

Result<std::string> ReadFile(const std::string& path) {
  store::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Status::FromErrno(errno, "open " + path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, "stat " + path);
  std::string bytes(static_cast<size_t>(st.st_size), '\0');
  CELLAR_ASSIGN_OR_RETURN(size_t n, store::PreadFull(fd.get(), bytes.data(), bytes.size(), 0, path));
  bytes.resize(n);
  return bytes;
}
}  // namespace

Outbox::Outbox(Options options, const env::Clock& clock) : options_(std::move(options)), clock_(clock) {}
Outbox::~Outbox() = default;

Result<std::unique_ptr<Outbox>> Outbox::Open(Options options, const env::Clock& clock) {
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec) return Status::Unavailable("cannot create the outbox directory " + options.dir + ": " + ec.message());
  std::unique_ptr<Outbox> outbox(new Outbox(std::move(options), clock));
  CELLAR_RETURN_IF_ERROR(outbox->Load());
  return outbox;
}

std::string Outbox::PathOf(uint64_t seq, std::string_view suffix) const {
  char name[kSeqDigits + 1];
  std::snprintf(name, sizeof(name), "%020llu", static_cast<unsigned long long>(seq));
  return options_.dir + "/" + name + std::string(suffix);
}

Status Outbox::Load() {
  CELLAR_ASSIGN_OR_RETURN(std::vector<std::string> names, store::ListDir(options_.dir));
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    const std::string path = options_.dir + "/" + name;
    if (SeqOf(name, kTempSuffix)) {
      ::unlink(path.c_str());  // never renamed, so never acknowledged
      continue;
    }
    std::optional<uint64_t> seq = SeqOf(name, kRecordSuffix);
    if (!seq) continue;  // bad/ and anything else
    next_seq_ = std::max(next_seq_, *seq + 1);
    Record record;
    record.seq = *seq;
    Result<std::string> bytes = ReadFile(path);
    Status decoded = bytes.ok() ? DecodeRecordFile(*bytes, record) : bytes.error();
    if (decoded.ok()) {
      by_subject_[record.subject].insert(record.seq);
      records_.emplace(record.seq, Slot{std::move(record)});
      continue;
    }
    // Damaged: kept for a person to look at, out of the drainers' way. The
    // work it named is reported lost (logged here, the only place that
    // knows; Open's caller sees the count).
    const std::string bad_dir = options_.dir + "/bad";
    const std::string moved = bad_dir + "/" + name + "." + std::to_string(clock_.NowUnixMs());
    CELLAR_RETURN_IF_ERROR(store::MakeDir(bad_dir));
    if (::rename(path.c_str(), moved.c_str()) != 0) return Status::FromErrno(errno, "rename " + path);
    ++bad_files_;
    Log(LogLevel::kError, "damaged outbox record set aside; its upload is lost",
        "\"file\":\"" + JsonEscape(moved) + "\",\"error\":\"" + JsonEscape(decoded.ToString()) + "\"");
  }
  return Status();
}

Status Outbox::Append(Record record) {
  {
    std::lock_guard lock(mu_);
    record.seq = next_seq_++;
  }
  record.created_ms = clock_.NowUnixMs();
  const std::string bytes = EncodeRecordFile(record);
  const std::string temp = PathOf(record.seq, kTempSuffix);
  const std::string final_path = PathOf(record.seq, kRecordSuffix);
  Status written = [&]() -> Status {
    store::UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!fd.valid()) return Status::FromErrno(errno, "create " + temp);
    CELLAR_RETURN_IF_ERROR(store::WriteAll(fd.get(), bytes.data(), bytes.size(), options_.faults, temp));
    CELLAR_RETURN_IF_ERROR(store::SyncFd(fd.get(), options_.faults, temp));
    if (::rename(temp.c_str(), final_path.c_str()) != 0) return Status::FromErrno(errno, "rename " + temp);
    Status synced = store::SyncDir(options_.dir, options_.faults);
    // The record may or may not survive a crash now: take it back, so the
    // caller's failure means "not recorded".
    if (!synced.ok()) ::unlink(final_path.c_str());
    return synced;
  }();
  if (!written.ok()) {
    ::unlink(temp.c_str());
    return written.WithContext("recording work in the outbox");
  }
  {
    std::lock_guard lock(mu_);
    by_subject_[record.subject].insert(record.seq);
    const uint64_t seq = record.seq;
    records_.emplace(seq, Slot{std::move(record)});
  }
  NotifyChange();
  return Status();
}

void Outbox::SetOnChange(std::function<void()> fn) {
  std::lock_guard lock(mu_);
  on_change_ = std::move(fn);
}

void Outbox::NotifyChange() {
  std::function<void()> fn;
  {
    std::lock_guard lock(mu_);
    fn = on_change_;
  }
  if (fn) fn();
}

bool Outbox::HasPending(std::string_view subject) const {
  std::lock_guard lock(mu_);
  return by_subject_.find(subject) != by_subject_.end();
}

std::optional<Record> Outbox::LatestPending(std::string_view subject) const {
  std::lock_guard lock(mu_);
  auto it = by_subject_.find(subject);
  if (it == by_subject_.end()) return std::nullopt;
  return records_.at(*it->second.rbegin()).record;
}

bool Outbox::Mentions(const Record& record, const std::string& subject) const {
  return record.subject == subject || std::find(record.after.begin(), record.after.end(), subject) != record.after.end();
}

bool Outbox::AnyInFlightMentions(const std::string& subject) const {
  for (uint64_t seq : in_flight_) {
    if (Mentions(records_.at(seq).record, subject)) return true;
  }
  return false;
}

Status Outbox::WithSubjectHeld(const std::string& subject, const std::function<Status()>& fn) {
  {
    std::unique_lock lock(mu_);
    held_.insert(subject);
    released_cv_.wait(lock, [&] { return !AnyInFlightMentions(subject); });
  }
  Status s = fn();
  {
    std::lock_guard lock(mu_);
    held_.erase(held_.find(subject));
  }
  NotifyChange();  // what was held back may start now
  return s;
}

Status Outbox::DropPending(std::string_view subject) {
  std::vector<uint64_t> dropped;
  {
    std::lock_guard lock(mu_);
    auto it = by_subject_.find(subject);
    if (it == by_subject_.end()) return Status();
    for (uint64_t seq : std::vector<uint64_t>(it->second.begin(), it->second.end())) {
      if (in_flight_.count(seq)) continue;
      Forget(records_.find(seq));
      dropped.push_back(seq);
    }
  }
  Status first;
  for (uint64_t seq : dropped) {
    Status s = RemoveFile(seq);
    if (first.ok()) first = s;
  }
  return first;
}

size_t Outbox::size() const {
  std::lock_guard lock(mu_);
  return records_.size();
}

std::optional<int64_t> Outbox::OldestCreatedMs() const {
  std::lock_guard lock(mu_);
  if (records_.empty()) return std::nullopt;
  return records_.begin()->second.record.created_ms;
}

bool Outbox::MayStart(const Slot& slot, TimePoint now) const {
  if (slot.in_flight || slot.not_before > now) return false;
  const Record& r = slot.record;
  for (const std::string& held : held_) {
    if (Mentions(r, held)) return false;
  }
  for (const std::string& subject : r.after) {
    auto it = by_subject_.find(subject);
    if (it != by_subject_.end() && *it->second.begin() < r.seq) return false;
  }
  return true;
}

std::optional<Taken> Outbox::Take(TimePoint now) {
  std::lock_guard lock(mu_);
  for (auto& [seq, slot] : records_) {
    if (!MayStart(slot, now)) continue;
    slot.in_flight = true;
    in_flight_.insert(seq);
    return Taken{slot.record, slot.failures};
  }
  return std::nullopt;
}

void Outbox::Forget(std::map<uint64_t, Slot>::iterator it) {
  auto subject = by_subject_.find(it->second.record.subject);
  subject->second.erase(it->first);
  if (subject->second.empty()) by_subject_.erase(subject);
  in_flight_.erase(it->first);
  records_.erase(it);
}

Status Outbox::RemoveFile(uint64_t seq) const {
  const std::string path = PathOf(seq, kRecordSuffix);
  // No directory sync: a removal lost in a crash only means the record is
  // carried out once more, and every kind's work is idempotent.
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Status::FromErrno(errno, "remove " + path);
  return Status();
}

Status Outbox::Complete(uint64_t seq) {
  {
    std::lock_guard lock(mu_);
    auto it = records_.find(seq);
    if (it == records_.end()) return Status();
    Forget(it);
  }
  released_cv_.notify_all();
  return RemoveFile(seq);
}

void Outbox::Release(uint64_t seq, TimePoint not_before) {
  {
    std::lock_guard lock(mu_);
    auto it = records_.find(seq);
    if (it == records_.end()) return;
    it->second.in_flight = false;
    it->second.not_before = not_before;
    ++it->second.failures;
    in_flight_.erase(seq);
  }
  released_cv_.notify_all();
  NotifyChange();
}

std::vector<Record> Outbox::GiveUp(uint64_t seq) {
  std::vector<Record> dependents;
  {
    std::lock_guard lock(mu_);
    auto it = records_.find(seq);
    if (it == records_.end()) return dependents;
    const std::string subject = it->second.record.subject;
    for (auto next = std::next(it); next != records_.end();) {
      const Record& r = next->second.record;
      if (r.subject == subject) break;
      if (std::find(r.after.begin(), r.after.end(), subject) == r.after.end()) {
        ++next;
        continue;
      }
      // Waiting for `seq`, so not in flight.
      dependents.push_back(r);
      auto forget = next++;
      Forget(forget);
    }
    Forget(it);
  }
  released_cv_.notify_all();
  (void)RemoveFile(seq);
  for (const Record& r : dependents) (void)RemoveFile(r.seq);
  return dependents;
}

}  // namespace cellar::outbox
