// loadgen: a small closed-loop HTTP/1.1 load generator for the side-by-side
// benchmarks in bench/. Each of C connections sends requests back to back
// (keep-alive) for a fixed duration and records per-request latency.
//
//   loadgen put URL_PREFIX SIZE CONCURRENCY SECONDS   PUT unique bodies to URL_PREFIX/<sha256>
//   loadgen get URL_PREFIX SIZE CONCURRENCY SECONDS   GET URL_PREFIX/<sha256> of bodies from "seed"
//   loadgen seed URL_PREFIX SIZE COUNT                PUT COUNT bodies (used by get)
//
// Bodies are deterministic pseudo-random bytes derived from (size, index), so
// `seed` and `get` agree on the keys without sharing state. Output is one JSON
// line: requests, errors, seconds, rps, MB/s, p50/p99 latency in ms.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/digest.h"
#include "hash/sha256.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Target {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string path_prefix;  // e.g. /bazel/cas
};

Target ParseUrl(const std::string& url) {
  // http://127.0.0.1:PORT/prefix
  Target t;
  std::string rest = url.substr(url.find("//") + 2);
  size_t slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  t.path_prefix = slash == std::string::npos ? "" : rest.substr(slash);
  size_t colon = hostport.find(':');
  t.host = hostport.substr(0, colon);
  t.port = std::atoi(hostport.substr(colon + 1).c_str());
  return t;
}

// Deterministic body for (size, index): xorshift bytes seeded by both.
void FillBody(std::vector<char>& buf, size_t size, uint64_t index) {
  buf.resize(size);
  uint64_t x = 0x9E3779B97F4A7C15ULL ^ (index * 0xBF58476D1CE4E5B9ULL) ^ size;
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(buf.data() + i, &x, 8);
  }
  for (; i < size; ++i) buf[i] = static_cast<char>(index + i);
}

std::string KeyOf(const std::vector<char>& body) {
  auto d = cellar::hash::Sha256(std::as_bytes(std::span(body.data(), body.size())));
  return cellar::ToHex(d);
}

int Connect(const Target& t) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(t.port));
  ::inet_pton(AF_INET, t.host.c_str(), &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

bool SendAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// Reads one response; returns the status (0 on transport error). Discards
// the body, honouring Content-Length (the servers under test send it).
int ReadResponse(int fd, std::string& carry, std::vector<char>& scratch, uint64_t* body_bytes) {
  size_t header_end;
  while ((header_end = carry.find("\r\n\r\n")) == std::string::npos) {
    ssize_t r = ::recv(fd, scratch.data(), scratch.size(), 0);
    if (r <= 0) return 0;
    carry.append(scratch.data(), static_cast<size_t>(r));
  }
  int status = std::atoi(carry.c_str() + 9);
  uint64_t length = 0;
  std::string headers = carry.substr(0, header_end);
  for (auto& c : headers) c = static_cast<char>(std::tolower(c));
  if (size_t p = headers.find("content-length:"); p != std::string::npos) {
    length = std::strtoull(headers.c_str() + p + 15, nullptr, 10);
  }
  carry.erase(0, header_end + 4);
  uint64_t have = std::min<uint64_t>(carry.size(), length);
  carry.erase(0, have);
  uint64_t remaining = length - have;
  while (remaining > 0) {
    ssize_t r = ::recv(fd, scratch.data(), std::min<uint64_t>(scratch.size(), remaining), 0);
    if (r <= 0) return 0;
    remaining -= static_cast<uint64_t>(r);
  }
  *body_bytes += length;
  return status;
}

struct Stats {
  std::mutex mu;
  std::vector<double> latencies_ms;
  uint64_t errors = 0;
  uint64_t bytes = 0;
};

void Worker(const Target& t, const std::string& mode, size_t size, int worker, int workers,
            Clock::time_point deadline, uint64_t seeded, const std::vector<std::string>& keys,
            Stats& stats) {
  int fd = Connect(t);
  if (fd < 0) {
    std::lock_guard lock(stats.mu);
    stats.errors++;
    return;
  }
  std::vector<char> body, scratch(1 << 20);
  std::string carry;
  std::vector<double> lat;
  uint64_t errors = 0, bytes = 0;
  uint64_t index = 1'000'000 + static_cast<uint64_t>(worker);  // unique per put
  uint64_t i = static_cast<uint64_t>(worker);
  while (Clock::now() < deadline) {
    std::string req;
    auto start = Clock::now();
    bool ok;
    if (mode == "get") {
      const std::string& key = keys[i++ % seeded];
      req = "GET " + t.path_prefix + "/" + key + " HTTP/1.1\r\nHost: bench\r\n\r\n";
      ok = SendAll(fd, req.data(), req.size());
    } else {
      FillBody(body, size, index);
      index += static_cast<uint64_t>(workers);
      std::string key = KeyOf(body);
      start = Clock::now();  // client-side hashing is not server latency
      req = "PUT " + t.path_prefix + "/" + key + " HTTP/1.1\r\nHost: bench\r\nContent-Length: " +
            std::to_string(size) + "\r\n\r\n";
      ok = SendAll(fd, req.data(), req.size()) && SendAll(fd, body.data(), body.size());
      bytes += size;
    }
    uint64_t got = 0;
    int status = ok ? ReadResponse(fd, carry, scratch, &got) : 0;
    if (mode == "get") bytes += got;
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (status < 200 || status >= 300) {
      errors++;
      if (status == 0) {
        ::close(fd);
        fd = Connect(t);
        carry.clear();
        if (fd < 0) break;
      }
      continue;
    }
    lat.push_back(ms);
  }
  if (fd >= 0) ::close(fd);
  std::lock_guard lock(stats.mu);
  stats.latencies_ms.insert(stats.latencies_ms.end(), lat.begin(), lat.end());
  stats.errors += errors;
  stats.bytes += bytes;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: loadgen put|get URL SIZE CONCURRENCY SECONDS | loadgen seed URL SIZE COUNT\n");
    return 2;
  }
  std::string mode = argv[1];
  Target t = ParseUrl(argv[2]);
  size_t size = std::strtoull(argv[3], nullptr, 10);
  if (mode == "seed") {
    uint64_t count = std::strtoull(argv[4], nullptr, 10);
    int fd = Connect(t);
    std::vector<char> body, scratch(1 << 20);
    std::string carry;
    for (uint64_t i = 0; i < count; ++i) {
      FillBody(body, size, i);
      std::string req = "PUT " + t.path_prefix + "/" + KeyOf(body) + " HTTP/1.1\r\nHost: bench\r\nContent-Length: " +
                        std::to_string(size) + "\r\n\r\n";
      uint64_t got = 0;
      if (!SendAll(fd, req.data(), req.size()) || !SendAll(fd, body.data(), body.size())) return 1;
      int status = ReadResponse(fd, carry, scratch, &got);
      if (status < 200 || status >= 300) {
        std::fprintf(stderr, "seed PUT failed with %d\n", status);
        return 1;
      }
    }
    return 0;
  }
  int concurrency = std::atoi(argv[4]);
  double seconds = std::atof(argv[5]);
  uint64_t seeded = argc > 6 ? std::strtoull(argv[6], nullptr, 10) : 1;
  std::vector<std::string> keys;
  if (mode == "get") {
    std::vector<char> body;
    for (uint64_t i = 0; i < seeded; ++i) {
      FillBody(body, size, i);
      keys.push_back(KeyOf(body));
    }
  }
  Stats stats;
  auto begin = Clock::now();
  auto deadline = begin + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> threads;
  for (int w = 0; w < concurrency; ++w) {
    threads.emplace_back(Worker, std::cref(t), std::cref(mode), size, w, concurrency, deadline, seeded,
                         std::cref(keys), std::ref(stats));
  }
  for (auto& th : threads) th.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - begin).count();
  auto& l = stats.latencies_ms;
  std::sort(l.begin(), l.end());
  auto pct = [&](double p) { return l.empty() ? 0.0 : l[std::min(l.size() - 1, static_cast<size_t>(p * l.size()))]; };
  std::printf("{\"mode\":\"%s\",\"size\":%zu,\"concurrency\":%d,\"requests\":%zu,\"errors\":%llu,"
              "\"seconds\":%.2f,\"rps\":%.1f,\"mbps\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f}\n",
              mode.c_str(), size, concurrency, l.size(), static_cast<unsigned long long>(stats.errors), elapsed,
              l.size() / elapsed, stats.bytes / elapsed / 1e6, pct(0.50), pct(0.99));
  return 0;
}
