#include "trace/otlp_json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace cellar::trace {
namespace {

using nlohmann::json;

TEST(OtlpJsonTest, EncodesResourceScopeSpansAndAttributesAsOtlpJson) {
  Resource resource;
  resource.service_name = "cellar-ci";
  resource.attributes = {{"deployment.environment", "ci"}, {"service.name", "ignored"}};
  resource.scope_version = "0.1.0";
  SpanData root;
  root.context = *ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  root.name = "GET npm";
  root.kind = SpanKind::kServer;
  root.start_unix_ns = 1'700'000'000'000'000'001;
  root.end_unix_ns = 1'700'000'000'500'000'000;
  root.attributes = {{"http.response.status_code", int64_t{200}}, {"cellar.cache_result", std::string("hit")},
                     {"cellar.stale", false}};
  SpanData child = root;
  child.context.span_id = {1, 2, 3, 4, 5, 6, 7, 8};
  child.parent = root.context.span_id;
  child.name = "upstream fetch";
  child.kind = SpanKind::kClient;
  child.attributes.clear();
  child.error = true;
  child.status_message = "connection refused";
  const SpanData spans[] = {root, child};

  json doc = json::parse(EncodeOtlpJson(resource, spans));
  const json& rs = doc["resourceSpans"][0];
  ASSERT_EQ(rs["resource"]["attributes"].size(), 2u);
  EXPECT_EQ(rs["resource"]["attributes"][0], json::parse(R"({"key":"service.name","value":{"stringValue":"cellar-ci"}})"));
  EXPECT_EQ(rs["resource"]["attributes"][1]["key"], "deployment.environment");
  const json& ss = rs["scopeSpans"][0];
  EXPECT_EQ(ss["scope"], json::parse(R"({"name":"cellar","version":"0.1.0"})"));
  ASSERT_EQ(ss["spans"].size(), 2u);
  const json& s0 = ss["spans"][0];
  EXPECT_EQ(s0["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(s0["spanId"], "00f067aa0ba902b7");
  EXPECT_FALSE(s0.contains("parentSpanId"));
  EXPECT_EQ(s0["kind"], 2);
  EXPECT_EQ(s0["startTimeUnixNano"], "1700000000000000001");  // 64-bit as a string: no precision lost
  EXPECT_EQ(s0["attributes"][0], json::parse(R"({"key":"http.response.status_code","value":{"intValue":"200"}})"));
  EXPECT_EQ(s0["attributes"][1]["value"]["stringValue"], "hit");
  EXPECT_EQ(s0["attributes"][2]["value"]["boolValue"], false);
  EXPECT_EQ(s0["status"], json::parse(R"({"code":0})"));
  const json& s1 = ss["spans"][1];
  EXPECT_EQ(s1["parentSpanId"], "00f067aa0ba902b7");
  EXPECT_EQ(s1["spanId"], "0102030405060708");
  EXPECT_EQ(s1["kind"], 3);
  EXPECT_EQ(s1["status"], json::parse(R"({"code":2,"message":"connection refused"})"));
}

TEST(OtlpJsonTest, InvalidUtf8InAnAttributeIsReplacedNotFatal) {
  SpanData span;
  span.context.trace_id = NewTraceId();
  span.context.span_id = NewSpanId();
  span.name = "GET npm";
  span.attributes = {{"url.path", std::string("/npm/\xff\xfe")}};
  const SpanData spans[] = {span};
  json doc = json::parse(EncodeOtlpJson(Resource{}, spans));
  EXPECT_EQ(doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"][0]["value"]["stringValue"],
            "/npm/\xef\xbf\xbd\xef\xbf\xbd");
}

}  // namespace
}  // namespace cellar::trace
