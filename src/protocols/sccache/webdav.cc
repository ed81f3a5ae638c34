#include "protocols/sccache/webdav.h"

#include <ctime>

#include "base/strings.h"

namespace cellar::sccache {

std::string HttpDate(int64_t unix_ms) {
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

std::string MultiStatusXml(const DavResource& r) {
  std::string xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:multistatus xmlns:D=\"DAV:\"><D:response><D:href>";
  xml += XmlEscape(r.href);
  xml += "</D:href><D:propstat><D:prop>";
  xml += r.collection ? "<D:resourcetype><D:collection/></D:resourcetype>" : "<D:resourcetype/>";
  if (r.size) xml += "<D:getcontentlength>" + std::to_string(*r.size) + "</D:getcontentlength>";
  xml += "<D:getlastmodified>" + HttpDate(r.modified_unix_ms) + "</D:getlastmodified>";
  if (!r.content_type.empty()) xml += "<D:getcontenttype>" + XmlEscape(r.content_type) + "</D:getcontenttype>";
  xml += "</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>\n";
  return xml;
}

}  // namespace cellar::sccache
