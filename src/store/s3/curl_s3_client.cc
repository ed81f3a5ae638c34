#include "store/s3/curl_s3_client.h"

#include <curl/curl.h>
#include <strings.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <mutex>

#include "base/strings.h"
#include "store/s3/xml.h"

namespace cellar::s3 {

struct CurlS3Client::Shared {
  CURLSH* share = nullptr;
  std::mutex locks[CURL_LOCK_DATA_LAST];
};

namespace {

constexpr size_t kPauseAtBytes = 1 << 20;   // a download buffers at most this much
constexpr size_t kMaxSmallBody = 8 << 20;   // XML answers (a list page is ~300 KB)
constexpr char kEmptySha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

void LockShare(CURL*, curl_lock_data data, curl_lock_access, void* user) {
  static_cast<CurlS3Client::Shared*>(user)->locks[data].lock();
}
void UnlockShare(CURL*, curl_lock_data data, void* user) {
  static_cast<CurlS3Client::Shared*>(user)->locks[data].unlock();
}

struct Request {
  std::string op;      // S3 operation name, for messages
  std::string method;  // GET HEAD PUT POST DELETE
  std::string key;     // bucket-relative; "" is the bucket
  std::vector<std::pair<std::string, std::string>> query;  // unencoded
  std::vector<std::string> headers;                        // "Name: value"
  BodySource* body = nullptr;  // streamed upload
  std::optional<std::string> small_body;  // POST body
};

// Removes anything secret that might have slipped into a message.
std::string Scrub(std::string message, const Credentials& creds) {
  for (const std::string* secret : {&creds.secret_access_key, &creds.session_token}) {
    if (secret->empty()) continue;
    for (size_t p; (p = message.find(*secret)) != std::string::npos;) {
      message.replace(p, secret->size(), "[redacted]");
    }
  }
  return message;
}

// One HTTP exchange, driven by a private multi handle so the caller pulls
// the body at its own pace.
class Transfer {
 public:
  Transfer(CurlS3Client::Shared& shared, const S3Config& config, const CurlS3Options& options,
           Request request)
      : config_(config), request_(std::move(request)) {
    easy_ = curl_easy_init();
    multi_ = curl_multi_init();
    error_buf_[0] = '\0';
    Setup(shared, options);
  }
  ~Transfer() {
    if (multi_ != nullptr && easy_ != nullptr) curl_multi_remove_handle(multi_, easy_);
    if (easy_ != nullptr) curl_easy_cleanup(easy_);
    if (multi_ != nullptr) curl_multi_cleanup(multi_);
    if (headers_ != nullptr) curl_slist_free_all(headers_);
  }
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;

  // Runs until the response head has arrived. Errors: the request could not
  // be made or the connection failed before an answer.
  Status Start() {
    if (!setup_error_.ok()) return setup_error_;
    CELLAR_RETURN_IF_ERROR(Drive([this] { return head_done_; }));
    if (!head_done_) return TransportError();
    return Status::Ok();
  }

  int status() const { return status_; }
  std::optional<std::string> Header(std::string_view name) const {
    std::optional<std::string> out;
    for (const auto& [n, v] : headers_in_) {
      if (n.size() == name.size() && strncasecmp(n.data(), name.data(), n.size()) == 0) out = v;
    }
    return out;
  }

  Result<size_t> Read(std::span<std::byte> out) {
    CELLAR_RETURN_IF_ERROR(Drive([this] { return buf_.size() > pos_; }));
    if (buf_.size() > pos_) {
      const size_t n = std::min(out.size(), buf_.size() - pos_);
      std::memcpy(out.data(), buf_.data() + pos_, n);
      pos_ += n;
      if (pos_ == buf_.size()) {
        buf_.clear();
        pos_ = 0;
      }
      return n;
    }
    if (result_ != CURLE_OK) return TransportError();
    return size_t{0};
  }

  Result<std::string> ReadAll() {
    std::string out;
    char chunk[64 * 1024];
    for (;;) {
      CELLAR_ASSIGN_OR_RETURN(size_t n, Read(std::as_writable_bytes(std::span(chunk))));
      if (n == 0) return out;
      if (out.size() + n > kMaxSmallBody) return Fail(Code::kResourceExhausted, "answer too large");
      out.append(chunk, n);
    }
  }

  // "<Op> <key>: <what>", scrubbed of secrets.
  Status Fail(Code code, std::string_view what) const {
    std::string where = request_.op;
    if (!request_.key.empty()) where += " " + request_.key;
    return Status(code, Scrub(where + " (" + config_.Describe() + "): " + std::string(what),
                              config_.credentials));
  }

  // Maps a non-2xx answer (its XML body already read) to a Status.
  Status HttpError(std::string_view body) const {
    const std::string code = XmlText(body, "Code").value_or(status_ == 404 ? "NoSuchKey" : "");
    const std::string message = XmlText(body, "Message").value_or("");
    std::string what = "HTTP " + std::to_string(status_);
    if (!code.empty()) what += " " + code;
    if (!message.empty()) what += ": " + message;
    Code c = Code::kInvalidArgument;
    if (status_ >= 500 || code == "SlowDown" || code == "RequestTimeout" ||
        code == "ConditionalRequestConflict") {
      c = Code::kUnavailable;
    } else if (status_ == 401 || status_ == 403) {
      c = Code::kPermissionDenied;
    } else if (status_ == 404) {
      c = Code::kNotFound;
    } else if (status_ == 412) {
      c = Code::kAlreadyExists;
    }
    return Fail(c, what);
  }

 private:
  template <typename Pred>
  Status Drive(Pred ready) {
    while (!ready() && !done_) {
      if (paused_ && buf_.size() - pos_ < kPauseAtBytes) {
        paused_ = false;
        curl_easy_pause(easy_, CURLPAUSE_CONT);
        if (ready()) break;
      }
      int running = 0;
      if (CURLMcode mc = curl_multi_perform(multi_, &running); mc != CURLM_OK) {
        return Fail(Code::kInternal, curl_multi_strerror(mc));
      }
      int left = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
        if (msg->msg == CURLMSG_DONE) {
          done_ = true;
          result_ = msg->data.result;
        }
      }
      if (ready() || done_) break;
      if (CURLMcode mc = curl_multi_poll(multi_, nullptr, 0, 1000, nullptr); mc != CURLM_OK) {
        return Fail(Code::kInternal, curl_multi_strerror(mc));
      }
    }
    return Status::Ok();
  }

  Status TransportError() const {
    if (!body_error_.ok()) return Fail(body_error_.code(), "reading the upload: " + body_error_.message());
    std::string what = curl_easy_strerror(result_);
    if (error_buf_[0] != '\0') what += std::string(": ") + error_buf_;
    if (result_ == CURLE_OK) what = "the connection closed before an answer";
    const Code code = result_ == CURLE_OPERATION_TIMEDOUT ? Code::kDeadlineExceeded : Code::kUnavailable;
    return Fail(code, what);
  }

  void Setup(CurlS3Client::Shared& shared, const CurlS3Options& options) {
    if (easy_ == nullptr || multi_ == nullptr) {
      setup_error_ = Fail(Code::kInternal, "curl initialisation failed");
      return;
    }
    Result<ObjectUrl> url = UrlFor(config_, request_.key);
    if (!url.ok()) {
      setup_error_ = url.error();
      return;
    }
    // libcurl 7.88 signs the query string as given: it must already be in
    // SigV4's canonical form (sorted, encoded, every key with '=').
    auto query = request_.query;
    for (auto& [k, v] : query) {
      k = UriEncode(k, false);
      v = UriEncode(v, false);
    }
    std::sort(query.begin(), query.end());
    std::string full = url->Full();
    for (size_t i = 0; i < query.size(); ++i) {
      full += (i == 0 ? "?" : "&") + query[i].first + "=" + query[i].second;
    }
    curl_easy_setopt(easy_, CURLOPT_URL, full.c_str());
    curl_easy_setopt(easy_, CURLOPT_SHARE, shared.share);
    curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, error_buf_);
    curl_easy_setopt(easy_, CURLOPT_FOLLOWLOCATION, 0L);
    const std::string provider = "aws:amz:" + config_.region + ":s3";
    curl_easy_setopt(easy_, CURLOPT_AWS_SIGV4, provider.c_str());
    curl_easy_setopt(easy_, CURLOPT_USERNAME, config_.credentials.access_key_id.c_str());
    curl_easy_setopt(easy_, CURLOPT_PASSWORD, config_.credentials.secret_access_key.c_str());
    curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
    curl_easy_setopt(easy_, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(easy_, CURLOPT_LOW_SPEED_TIME,
                     std::max(1L, static_cast<long>(options.idle_timeout.count() / 1000)));
    curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, &Transfer::OnHeader);
    curl_easy_setopt(easy_, CURLOPT_HEADERDATA, this);
    curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &Transfer::OnBody);
    curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);

    std::string payload_hash = kEmptySha256;
    if (request_.method == "HEAD") {
      curl_easy_setopt(easy_, CURLOPT_NOBODY, 1L);
    } else if (request_.method == "PUT") {
      curl_easy_setopt(easy_, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(easy_, CURLOPT_READFUNCTION, &Transfer::OnRead);
      curl_easy_setopt(easy_, CURLOPT_READDATA, this);
      curl_easy_setopt(easy_, CURLOPT_INFILESIZE_LARGE,
                       static_cast<curl_off_t>(request_.body ? request_.body->size() : 0));
      payload_hash = "UNSIGNED-PAYLOAD";  // streamed: hashing first would read it twice
    } else if (request_.method == "POST") {
      const std::string& body = *request_.small_body;
      curl_easy_setopt(easy_, CURLOPT_POST, 1L);
      curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
      curl_easy_setopt(easy_, CURLOPT_COPYPOSTFIELDS, body.c_str());
      payload_hash = Sha256Hex(body);
    } else if (request_.method != "GET") {
      curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, request_.method.c_str());
    }
    request_.headers.push_back("x-amz-content-sha256: " + payload_hash);
    if (!config_.credentials.session_token.empty()) {
      request_.headers.push_back("x-amz-security-token: " + config_.credentials.session_token);
    }
    for (const std::string& h : request_.headers) headers_ = curl_slist_append(headers_, h.c_str());
    curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers_);
    curl_multi_add_handle(multi_, easy_);
  }

  static size_t OnHeader(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    std::string_view line(data, size * n);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    if (line.rfind("HTTP/", 0) == 0) {
      t->headers_in_.clear();
      const size_t sp = line.find(' ');
      t->status_ = sp == std::string_view::npos ? 0 : std::atoi(std::string(line.substr(sp + 1, 3)).c_str());
    } else if (line.empty()) {
      if (t->status_ >= 200) t->head_done_ = true;  // not after a 100 Continue
    } else if (size_t colon = line.find(':'); colon != std::string_view::npos) {
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      t->headers_in_.emplace_back(std::string(line.substr(0, colon)), std::string(value));
    }
    return size * n;
  }

  static size_t OnBody(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    if (t->buf_.size() - t->pos_ >= kPauseAtBytes) {
      t->paused_ = true;
      return CURL_WRITEFUNC_PAUSE;  // curl keeps the bytes and offers them again
    }
    t->buf_.append(data, size * n);
    return size * n;
  }

  static size_t OnRead(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    if (t->request_.body == nullptr) return 0;
    Result<size_t> got = t->request_.body->Read(std::as_writable_bytes(std::span(data, size * n)));
    if (!got.ok()) {
      t->body_error_ = got.error();
      return CURL_READFUNC_ABORT;
    }
    return *got;
  }

  const S3Config& config_;
  Request request_;
  CURL* easy_ = nullptr;
  CURLM* multi_ = nullptr;
  curl_slist* headers_ = nullptr;
  char error_buf_[CURL_ERROR_SIZE];
  Status setup_error_;
  Status body_error_;
  int status_ = 0;
  std::vector<std::pair<std::string, std::string>> headers_in_;
  bool head_done_ = false;
  bool done_ = false;
  bool paused_ = false;
  CURLcode result_ = CURLE_OK;
  std::string buf_;  // body bytes received, not yet read; from pos_
  size_t pos_ = 0;
};

// Runs `request` to the end. Returns the transfer (status, headers) with the
// body in `*body`, or a transport failure.
Result<std::unique_ptr<Transfer>> Exchange(CurlS3Client::Shared& shared, const S3Config& config,
                                           const CurlS3Options& options, Request request,
                                           std::string* body) {
  auto t = std::make_unique<Transfer>(shared, config, options, std::move(request));
  CELLAR_RETURN_IF_ERROR(t->Start());
  CELLAR_ASSIGN_OR_RETURN(*body, t->ReadAll());
  return t;
}

class CurlObjectReader final : public ObjectReader {
 public:
  CurlObjectReader(std::unique_ptr<Transfer> t, uint64_t size) : t_(std::move(t)), size_(size) {}
  uint64_t size() const override { return size_; }
  Result<size_t> Read(std::span<std::byte> out) override {
    CELLAR_ASSIGN_OR_RETURN(size_t n, t_->Read(out));
    got_ += n;
    if (n == 0 && got_ != size_) {
      return t_->Fail(Code::kUnavailable, "body ended after " + std::to_string(got_) + " of " +
                                              std::to_string(size_) + " bytes");
    }
    return n;
  }

 private:
  std::unique_ptr<Transfer> t_;
  const uint64_t size_;
  uint64_t got_ = 0;
};

std::string ListQueryValue(const std::optional<std::string>& v) { return v.value_or(""); }

}  // namespace

int64_t ParseS3Time(std::string_view text) {
  struct tm tm {};
  const std::string s(text);
  const char* end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (end == nullptr) {
    tm = {};
    end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S", &tm);
  }
  if (end == nullptr) return 0;
  int64_t ms = static_cast<int64_t>(timegm(&tm)) * 1000;
  if (*end == '.') ms += std::atoi(std::string(end + 1, std::min<size_t>(3, std::strlen(end + 1))).c_str());
  return ms;
}

CurlS3Client::CurlS3Client(S3Config config, CurlS3Options options)
    : config_(std::move(config)), options_(options), shared_(std::make_unique<Shared>()) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  shared_->share = curl_share_init();
  curl_share_setopt(shared_->share, CURLSHOPT_LOCKFUNC, &LockShare);
  curl_share_setopt(shared_->share, CURLSHOPT_UNLOCKFUNC, &UnlockShare);
  curl_share_setopt(shared_->share, CURLSHOPT_USERDATA, shared_.get());
  curl_share_setopt(shared_->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
  curl_share_setopt(shared_->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
}

CurlS3Client::~CurlS3Client() { curl_share_cleanup(shared_->share); }

Status CurlS3Client::PutObject(const std::string& key, BodySource& body,
                               const PutOptions& options) {
  Request r{"PutObject", "PUT", key, {}, {}, &body, std::nullopt};
  if (options.if_absent) r.headers.push_back("If-None-Match: *");
  std::string answer;
  CELLAR_ASSIGN_OR_RETURN(auto t, Exchange(*shared_, config_, options_, std::move(r), &answer));
  if (t->status() != 200) return t->HttpError(answer);
  return Status::Ok();
}

Result<std::optional<std::unique_ptr<ObjectReader>>> CurlS3Client::GetObject(
    const std::string& key, const std::optional<ByteRange>& range) {
  using Out = std::optional<std::unique_ptr<ObjectReader>>;
  Request r{"GetObject", "GET", key, {}, {}, nullptr, std::nullopt};
  if (range.has_value()) {
    std::string spec = "Range: bytes=" + std::to_string(range->offset) + "-";
    if (range->length.has_value()) {
      if (*range->length == 0) return Status::InvalidArgument("GetObject " + key + ": empty range");
      spec += std::to_string(range->offset + *range->length - 1);
    }
    r.headers.push_back(spec);
  }
  auto t = std::make_unique<Transfer>(*shared_, config_, options_, std::move(r));
  CELLAR_RETURN_IF_ERROR(t->Start());
  if (t->status() == 200 || t->status() == 206) {
    const std::optional<std::string> length = t->Header("Content-Length");
    if (!length.has_value()) return t->Fail(Code::kInternal, "answer without Content-Length");
    const uint64_t size = std::strtoull(length->c_str(), nullptr, 10);
    return Out(std::make_unique<CurlObjectReader>(std::move(t), size));
  }
  CELLAR_ASSIGN_OR_RETURN(std::string answer, t->ReadAll());
  if (t->status() == 404 && XmlText(answer, "Code").value_or("NoSuchKey") == "NoSuchKey") {
    return Out();
  }
  return t->HttpError(answer);
}

Result<std::optional<ObjectInfo>> CurlS3Client::HeadObject(const std::string& key) {
  std::string answer;
  CELLAR_ASSIGN_OR_RETURN(auto t, Exchange(*shared_, config_, options_,
                                           Request{"HeadObject", "HEAD", key, {}, {}, nullptr, std::nullopt},
                                           &answer));
  if (t->status() == 404) return std::optional<ObjectInfo>();
  if (t->status() != 200) return t->HttpError(answer);
  ObjectInfo info;
  info.key = key;
  info.size = std::strtoull(t->Header("Content-Length").value_or("0").c_str(), nullptr, 10);
  info.etag = t->Header("ETag").value_or("");
  info.last_modified_unix_ms = ParseS3Time(t->Header("Last-Modified").value_or(""));
  return std::optional<ObjectInfo>(std::move(info));
}

Status CurlS3Client::DeleteObject(const std::string& key) {
  std::string answer;
  CELLAR_ASSIGN_OR_RETURN(auto t, Exchange(*shared_, config_, options_,
                                           Request{"DeleteObject", "DELETE", key, {}, {}, nullptr, std::nullopt},
                                           &answer));
  if (t->status() == 200 || t->status() == 204) return Status::Ok();
  if (t->status() == 404 && XmlText(answer, "Code").value_or("NoSuchKey") == "NoSuchKey") {
    return Status::Ok();
  }
  return t->HttpError(answer);
}

Result<ListPage> CurlS3Client::ListObjectsV2(const std::string& prefix,
                                             const std::optional<std::string>& continuation,
                                             int max_keys) {
  Request r{"ListObjectsV2", "GET", "", {}, {}, nullptr, std::nullopt};
  r.query = {{"list-type", "2"}, {"prefix", prefix}, {"max-keys", std::to_string(max_keys)}};
  if (continuation.has_value()) r.query.emplace_back("continuation-token", *continuation);
  std::string answer;
  CELLAR_ASSIGN_OR_RETURN(auto t, Exchange(*shared_, config_, options_, std::move(r), &answer));
  if (t->status() != 200) return t->HttpError(answer);
  ListPage page;
  for (std::string_view item : XmlElements(answer, "Contents")) {
    ObjectInfo info;
    info.key = XmlText(item, "Key").value_or("");
    info.size = std::strtoull(XmlText(item, "Size").value_or("0").c_str(), nullptr, 10);
    info.etag = XmlText(item, "ETag").value_or("");
    info.last_modified_unix_ms = ParseS3Time(XmlText(item, "LastModified").value_or(""));
    page.objects.push_back(std::move(info));
  }
  if (XmlText(answer, "IsTruncated").value_or("false") == "true") {
    page.next_token = XmlText(answer, "NextContinuationToken");
    if (!page.next_token.has_value() || page.next_token->empty()) {
      return t->Fail(Code::kInternal, "truncated listing without NextContinuationToken");
    }
  }
  return page;
}

Result<std::string> CurlS3Client::CreateMultipartUpload(const std::string& key) {
  Request r{"CreateMultipartUpload", "POST", key, {{"uploads", ""}}, {}, nullptr, std::string()};
  std::string answer;
  CELLAR_ASSIGN_OR_RETURN(auto t, Exchange(*shared_, config_, options_, std::move(r), &answer));
  if (t->status() != 200) return t->HttpError(answer);
  std::optional<std::string> id = XmlText(answer, "UploadId");
  if (!id.has_value() || id->empty()) return t->Fail(Code::kInternal, "answer without UploadId");
  return *id;
}

Result<std::string> CurlS3Client::UploadPart(const std::string& key, const std::string& upload_id,
                                             int part_number, BodySource& body) {
  Request r{"UploadPart", "PUT", key, {{"partNumber", std::to_string(part_number)}, {"uploadId", upload_id}},
            {}, &body, std::nullopt};
  std::string answer;
  CELLAR_ASSIGN_OR_RETURN(auto t, Exchange(*shared_, config_, options_, std::move(r), &answer));
  if (t->status() != 200) return t->HttpError(answer);
  std::optional<std::string> etag = t->Header("ETag");
  if (!etag.has_value()) return t->Fail(Code::kInternal, "answer without ETag");
  return *etag;
}

Status CurlS3Client::CompleteMultipartUpload(const std::string& key, const std::string& upload_id,
                                             const std::vector<CompletedPart>& parts) {
  std::string xml = "<CompleteMultipartUpload>";
  for (const CompletedPart& p : parts) {
    xml += "<Part><PartNumber>" + std::to_string(p.number) + "</PartNumber><ETag>" +
           XmlEscape(p.etag) + "</ETag></Part>";
  }
  xml += "</CompleteMultipartUpload>";
  Request r{"CompleteMultipartUpload", "POST", key, {{"uploadId", upload_id}}, {}, nullptr, xml};
  std::string answer;
  CELLAR_ASSIGN_OR_RETURN(auto t, Exchange(*shared_, config_, options_, std::move(r), &answer));
  // S3 may answer 200 and still fail: the error is then in the body.
  if (t->status() != 200 || !XmlElements(answer, "Error").empty()) {
    if (t->status() == 200 && XmlText(answer, "Code").value_or("") == "InternalError") {
      return t->Fail(Code::kUnavailable, "InternalError: " + XmlText(answer, "Message").value_or(""));
    }
    return t->HttpError(answer);
  }
  return Status::Ok();
}

Status CurlS3Client::AbortMultipartUpload(const std::string& key, const std::string& upload_id) {
  Request r{"AbortMultipartUpload", "DELETE", key, {{"uploadId", upload_id}}, {}, nullptr, std::nullopt};
  std::string answer;
  CELLAR_ASSIGN_OR_RETURN(auto t, Exchange(*shared_, config_, options_, std::move(r), &answer));
  if (t->status() == 204 || t->status() == 200) return Status::Ok();
  if (t->status() == 404 && XmlText(answer, "Code").value_or("") == "NoSuchUpload") return Status::Ok();
  return t->HttpError(answer);
}

Result<UploadsPage> CurlS3Client::ListMultipartUploads(
    const std::string& prefix, const std::optional<std::string>& key_marker,
    const std::optional<std::string>& upload_id_marker) {
  Request r{"ListMultipartUploads", "GET", "", {{"uploads", ""}, {"prefix", prefix}}, {}, nullptr, std::nullopt};
  if (key_marker.has_value()) r.query.emplace_back("key-marker", ListQueryValue(key_marker));
  if (upload_id_marker.has_value()) r.query.emplace_back("upload-id-marker", ListQueryValue(upload_id_marker));
  std::string answer;
  CELLAR_ASSIGN_OR_RETURN(auto t, Exchange(*shared_, config_, options_, std::move(r), &answer));
  if (t->status() != 200) return t->HttpError(answer);
  UploadsPage page;
  for (std::string_view item : XmlElements(answer, "Upload")) {
    MultipartUpload u;
    u.key = XmlText(item, "Key").value_or("");
    u.upload_id = XmlText(item, "UploadId").value_or("");
    u.initiated_unix_ms = ParseS3Time(XmlText(item, "Initiated").value_or(""));
    page.uploads.push_back(std::move(u));
  }
  if (XmlText(answer, "IsTruncated").value_or("false") == "true") {
    page.next_key_marker = XmlText(answer, "NextKeyMarker");
    page.next_upload_id_marker = XmlText(answer, "NextUploadIdMarker");
  }
  return page;
}

Status CurlS3Client::CheckBucket() {
  std::string answer;
  CELLAR_ASSIGN_OR_RETURN(auto t, Exchange(*shared_, config_, options_,
                                           Request{"HeadBucket", "HEAD", "", {}, {}, nullptr, std::nullopt},
                                           &answer));
  if (t->status() == 200) return Status::Ok();
  if (t->status() == 404) return t->Fail(Code::kNotFound, "the bucket does not exist");
  if (t->status() == 403) {
    return t->Fail(Code::kPermissionDenied, "access denied: wrong credentials or no permission on the bucket");
  }
  return t->HttpError(answer);
}

}  // namespace cellar::s3
