// CronSchedule: the five-field cron expressions of the git warm-up
// schedule ("minute hour day-of-month month day-of-week", UTC), with *,
// lists (1,5), ranges (1-5), steps (*/15, 0-30/10). As in cron, when both
// day fields are restricted a day matching either one runs.
#pragma once

#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace cellar::git {

class CronSchedule {
 public:
  static Result<CronSchedule> Parse(std::string_view expression);
  // The first minute strictly after `after_unix_s` that matches (unix
  // seconds, a multiple of 60).
  int64_t Next(int64_t after_unix_s) const;
  const std::string& expression() const { return expression_; }

 private:
  bool Matches(int64_t minute_unix_s) const;
  std::string expression_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;    // 1..31
  std::bitset<13> months_;  // 1..12
  std::bitset<7> weekdays_; // 0..6, Sunday = 0 (7 is accepted as Sunday)
  bool any_day_ = true;
  bool any_weekday_ = true;
};

}  // namespace cellar::git
