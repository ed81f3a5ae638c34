#include "redis/hiredis_client.h"

#include <sys/time.h>

#include <algorithm>
#include <csignal>

#include "base/log.h"

namespace cellar::redis {
namespace {

timeval ToTimeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

ReplyPtr Send(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  return ReplyPtr(static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data())));
}

Reply Convert(const redisReply& r) {
  switch (r.type) {
    case REDIS_REPLY_INTEGER:
      return Reply{static_cast<int64_t>(r.integer)};
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      return Reply{std::string(r.str, r.len)};
    case REDIS_REPLY_ARRAY: {
      Reply::Array items;
      items.reserve(r.elements);
      for (size_t i = 0; i < r.elements; ++i) items.push_back(Convert(*r.element[i]));
      return Reply{std::move(items)};
    }
    default:
      return Reply{Reply::Nil{}};
  }
}

}  // namespace

HiredisClient::HiredisClient(RedisUrl url, HiredisOptions options, const env::Clock& clock)
    : url_(std::move(url)), options_(options), clock_(clock) {
  // hiredis writes with write(2), not send(MSG_NOSIGNAL): a Redis that went
  // away would raise SIGPIPE, and its default action ends the process. The
  // server ignores it already (http/server.cc); a tool using this client
  // must too, so do it here: EPIPE is then an ordinary error value.
  std::signal(SIGPIPE, SIG_IGN);
}

HiredisClient::~HiredisClient() = default;

Status HiredisClient::Unreachable(std::string why) {
  std::string message = "Redis at " + url_.Display() + " is unavailable: " + why;
  {
    std::lock_guard lock(mu_);
    backoff_ = backoff_.count() == 0 ? options_.min_backoff : std::min(backoff_ * 2, options_.max_backoff);
    retry_after_ = clock_.Monotonic() + backoff_;
    last_error_ = message;
    idle_.clear();  // they share the fate of the one that failed
  }
  if (up_.exchange(false)) {
    Log(LogLevel::kWarn, message + "; carrying on without it (more upstream fetches, no fleet-wide locks)");
  }
  return Status::Unavailable(std::move(message));
}

void HiredisClient::MarkUp() {
  {
    std::lock_guard lock(mu_);
    backoff_ = std::chrono::milliseconds(0);
  }
  if (!up_.exchange(true)) Log(LogLevel::kInfo, "Redis at " + url_.Display() + " is reachable again");
}

Result<HiredisClient::Context> HiredisClient::Connect() {
  const timeval connect_timeout = ToTimeval(options_.connect_timeout);
  Context c(url_.socket_path.empty() ? redisConnectWithTimeout(url_.host.c_str(), url_.port, connect_timeout)
                                     : redisConnectUnixWithTimeout(url_.socket_path.c_str(), connect_timeout));
  if (!c) return Unreachable("out of memory");
  if (c->err != 0) return Unreachable(c->errstr);
  if (redisSetTimeout(c.get(), ToTimeval(options_.command_timeout)) != REDIS_OK) {
    return Unreachable("cannot set the command timeout");
  }
  if (!url_.password.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!url_.user.empty()) auth.push_back(url_.user);
    auth.push_back(url_.password);
    ReplyPtr reply = Send(c.get(), auth);
    if (!reply) return Unreachable(c->errstr);
    // Redis's own message names neither the password nor the user.
    if (reply->type == REDIS_REPLY_ERROR) return Unreachable("AUTH refused: " + std::string(reply->str, reply->len));
  }
  if (url_.db != 0) {
    ReplyPtr reply = Send(c.get(), {"SELECT", std::to_string(url_.db)});
    if (!reply) return Unreachable(c->errstr);
    if (reply->type == REDIS_REPLY_ERROR) return Unreachable("SELECT refused: " + std::string(reply->str, reply->len));
  }
  return c;
}

Result<HiredisClient::Context> HiredisClient::TakeConnection() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      Context c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
    if (backoff_.count() != 0 && clock_.Monotonic() < retry_after_) {
      return Status::Unavailable(last_error_ + " (not retried yet)");
    }
  }
  return Connect();
}

void HiredisClient::ReturnConnection(Context context) {
  std::lock_guard lock(mu_);
  if (idle_.size() < options_.max_idle_connections) idle_.push_back(std::move(context));
}

Result<Reply> HiredisClient::Command(const std::vector<std::string>& args) {
  if (args.empty()) return Status::InvalidArgument("empty Redis command");
  CELLAR_ASSIGN_OR_RETURN(Context c, TakeConnection());
  ReplyPtr reply = Send(c.get(), args);
  if (!reply) return Unreachable(args[0] + ": " + c->errstr);  // the connection is dropped with `c`
  MarkUp();
  if (reply->type == REDIS_REPLY_ERROR) {
    Status error = Status::Internal("Redis refused " + args[0] + ": " + std::string(reply->str, reply->len));
    ReturnConnection(std::move(c));
    return error;
  }
  Reply converted = Convert(*reply);
  ReturnConnection(std::move(c));
  return converted;
}

}  // namespace cellar::redis
