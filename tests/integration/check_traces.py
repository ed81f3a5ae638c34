#!/usr/bin/env python3
"""Checks the spans a fake collector received (fake_otlp_collector.py).

Usage: check_traces.py OUT_DIR TRACE_ID CHECK [ARGS...]
  resource                      every export names service.name "cellar-it",
                                scope "cellar", deployment.environment "it"
  server PARENT STATUS CACHE    the trace has one server span (kind 2), child
                                of PARENT ("-" for none), with that
                                http.response.status_code and
                                cellar.cache_result ("-": none); prints its id
  tree                          every span's parent is in the trace (or is the
                                server span's remote parent), ids are hex of
                                the right length, end >= start; prints
                                "<name> <spanId> <parentSpanId> <error>" lines
Exit 1 with a message when a check fails, 2 when the trace is not (yet) there.
"""
import glob
import json
import re
import sys


def load(out_dir):
    exports = []
    for path in sorted(glob.glob(out_dir + "/*.json")):
        with open(path) as f:
            exports.append(json.load(f))
    return exports


def spans_of(exports, trace_id):
    out = []
    for doc in exports:
        for rs in doc["resourceSpans"]:
            for ss in rs["scopeSpans"]:
                for s in ss["spans"]:
                    if s["traceId"] == trace_id:
                        out.append(s)
    return out


def attr(span, key):
    for a in span.get("attributes", []):
        if a["key"] == key:
            v = a["value"]
            return v.get("stringValue", v.get("intValue", v.get("boolValue")))
    return None


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def main():
    out_dir, trace_id, check = sys.argv[1], sys.argv[2], sys.argv[3]
    exports = load(out_dir)
    if check == "resource":
        if not exports:
            sys.exit(2)
        for doc in exports:
            for rs in doc["resourceSpans"]:
                attrs = {a["key"]: a["value"].get("stringValue") for a in rs["resource"]["attributes"]}
                if attrs.get("service.name") != "cellar-it" or attrs.get("deployment.environment") != "it":
                    fail("resource attributes: %r" % attrs)
                for ss in rs["scopeSpans"]:
                    if ss["scope"].get("name") != "cellar":
                        fail("scope: %r" % ss["scope"])
        return
    spans = spans_of(exports, trace_id)
    servers = [s for s in spans if s["kind"] == 2]
    if not servers:
        sys.exit(2)
    # A trace holds one request, except when a client sent one traceparent
    # with several requests (git's http.extraHeader): "tree" accepts each
    # server span as a root; "server" wants exactly one.
    server = servers[0]
    if check == "server" and len(servers) != 1:
        fail("%d server spans in trace %s" % (len(servers), trace_id))
    if check == "server":
        parent, status, cache = sys.argv[4], sys.argv[5], sys.argv[6]
        got_parent = server.get("parentSpanId", "-") or "-"
        if got_parent != parent:
            fail("server span's parent %s, expected %s" % (got_parent, parent))
        if str(attr(server, "http.response.status_code")) != status:
            fail("server span status %r, expected %s" % (attr(server, "http.response.status_code"), status))
        got_cache = attr(server, "cellar.cache_result") or "-"
        if got_cache != cache:
            fail("cache result %r, expected %s" % (got_cache, cache))
        for key in ("http.request.method", "url.path", "cellar.route"):
            if attr(server, key) is None:
                fail("server span lacks " + key)
        print(server["spanId"])
    elif check == "tree":
        ids = {s["spanId"] for s in spans}
        for s in spans:
            if not re.fullmatch(r"[0-9a-f]{16}", s["spanId"]) or not re.fullmatch(r"[0-9a-f]{32}", s["traceId"]):
                fail("bad ids in %r" % s)
            if int(s["endTimeUnixNano"]) < int(s["startTimeUnixNano"]):
                fail("span ends before it starts: %r" % s)
            p = s.get("parentSpanId")
            if s["kind"] != 2 and p not in ids:
                fail("span %s (%s) has parent %s outside the trace" % (s["name"], s["spanId"], p))
        for s in spans:
            print(s["name"], s["spanId"], s.get("parentSpanId", "-"), "error" if s["status"].get("code") == 2 else "ok")
    else:
        fail("unknown check " + check)


if __name__ == "__main__":
    main()
