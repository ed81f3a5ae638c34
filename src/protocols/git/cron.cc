#include "protocols/git/cron.h"

#include <charconv>
#include <ctime>
#include <vector>

#include "base/strings.h"

namespace cellar::git {

namespace {
Result<int> Number(std::string_view s, int lo, int hi) {
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < lo || v > hi) {
    return Status::InvalidArgument("'" + std::string(s) + "' is not a number from " + std::to_string(lo) + " to " +
                                   std::to_string(hi));
  }
  return v;
}

// Sets bits lo..hi of one field; returns whether the field was "*".
template <size_t N>
Result<bool> ParseField(std::string_view field, int lo, int hi, std::bitset<N>& bits) {
  bool star = false;
  for (auto part : SplitView(field, ',')) {
    int step = 1;
    if (size_t slash = part.find('/'); slash != std::string_view::npos) {
      CELLAR_ASSIGN_OR_RETURN(step, Number(part.substr(slash + 1), 1, hi));
      part = part.substr(0, slash);
    }
    int from = lo, to = hi;
    if (part == "*") {
      star = step == 1;
    } else if (size_t dash = part.find('-'); dash != std::string_view::npos) {
      CELLAR_ASSIGN_OR_RETURN(from, Number(part.substr(0, dash), lo, hi));
      CELLAR_ASSIGN_OR_RETURN(to, Number(part.substr(dash + 1), lo, hi));
      if (from > to) return Status::InvalidArgument("range '" + std::string(part) + "' runs backwards");
    } else {
      CELLAR_ASSIGN_OR_RETURN(from, Number(part, lo, hi));
      to = from;
    }
    for (int v = from; v <= to; v += step) bits.set(static_cast<size_t>(v));
  }
  return star;
}
}  // namespace

Result<CronSchedule> CronSchedule::Parse(std::string_view expression) {
  std::vector<std::string_view> fields;
  for (auto f : SplitView(expression, ' ')) {
    if (!f.empty()) fields.push_back(f);
  }
  if (fields.size() != 5) {
    return Status::InvalidArgument("cron schedule needs 5 fields (minute hour day month weekday): '" +
                                   std::string(expression) + "'");
  }
  CronSchedule c;
  c.expression_ = std::string(expression);
  std::bitset<8> weekdays;
  auto prefix = [&](const Status& s) { return Status::InvalidArgument("cron '" + c.expression_ + "': " + s.message()); };
  auto m = ParseField(fields[0], 0, 59, c.minutes_);
  if (!m.ok()) return prefix(m.error());
  auto h = ParseField(fields[1], 0, 23, c.hours_);
  if (!h.ok()) return prefix(h.error());
  auto d = ParseField(fields[2], 1, 31, c.days_);
  if (!d.ok()) return prefix(d.error());
  auto mo = ParseField(fields[3], 1, 12, c.months_);
  if (!mo.ok()) return prefix(mo.error());
  auto w = ParseField(fields[4], 0, 7, weekdays);
  if (!w.ok()) return prefix(w.error());
  for (size_t i = 0; i < 7; ++i) c.weekdays_[i] = weekdays[i];
  if (weekdays[7]) c.weekdays_.set(0);
  c.any_day_ = *d;
  c.any_weekday_ = *w;
  return c;
}

bool CronSchedule::Matches(int64_t t) const {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  if (!minutes_[static_cast<size_t>(tm.tm_min)] || !hours_[static_cast<size_t>(tm.tm_hour)] ||
      !months_[static_cast<size_t>(tm.tm_mon + 1)]) {
    return false;
  }
  bool day = days_[static_cast<size_t>(tm.tm_mday)];
  bool weekday = weekdays_[static_cast<size_t>(tm.tm_wday)];
  if (any_day_ && any_weekday_) return true;
  if (any_day_) return weekday;
  if (any_weekday_) return day;
  return day || weekday;
}

int64_t CronSchedule::Next(int64_t after_unix_s) const {
  int64_t t = (after_unix_s / 60 + 1) * 60;
  // At most about four years of minutes (Feb 29 schedules); always found
  // for a valid expression that can match at all.
  for (int64_t i = 0; i < 4LL * 366 * 24 * 60; ++i, t += 60) {
    if (Matches(t)) return t;
  }
  return INT64_MAX;
}

}  // namespace cellar::git
