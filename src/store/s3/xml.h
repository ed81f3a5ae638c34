// A minimal extractor for the few S3 XML responses cellar reads (Error,
// ListBucketResult, InitiateMultipartUploadResult, ListMultipartUploadsResult,
// CompleteMultipartUploadResult). These documents are flat records of
// elements with text content and no attributes we need, so pulling elements
// out by name is enough; it is not a general XML parser (no CDATA, no
// namespaces by prefix, no nesting of an element inside one of the same name).
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cellar::s3 {

// Inner markup of every element named `name` in `doc`, in document order.
// `<name/>` yields an empty view.
std::vector<std::string_view> XmlElements(std::string_view doc, std::string_view name);

// Decoded text of the first element `name` inside `fragment`, or nullopt.
std::optional<std::string> XmlText(std::string_view fragment, std::string_view name);

// Entities: &amp; &lt; &gt; &quot; &apos; &#N; &#xH; (UTF-8 out).
// (XmlEscape is in base/strings.h.)
std::string XmlUnescape(std::string_view s);

}  // namespace cellar::s3
