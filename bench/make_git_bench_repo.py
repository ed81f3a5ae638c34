#!/usr/bin/env python3
"""Writes a git fast-import stream for a deterministic, medium-sized
repository to stdout (for bench/git_bench.sh).

Usage: make_git_bench_repo.py [--commits N] [--seed S] | git fast-import

The same arguments always give the same objects (same commit ids): fixed
authors and timestamps, one seeded PRNG, no dependence on the environment.
Shape, like a long-lived C project with vendored binaries:
  - ~1,100 text source files at first, ~1,500 at the end (pseudo-C made of
    a 2,000-identifier vocabulary, numbers and comments; zlib packs it ~3.5x)
    in 70 directories, 2-40 KB each;
  - N commits (default 5,000) on main: most edit 1-6 files with 1-3 hunks
    (replace / insert / delete 1-80 lines; 40 "hot" files change far more
    often than the rest), some add or delete files, every 400th moves a
    directory (tree churn);
  - 24 binary blobs under assets/ (100-800 KB of random bytes): every 150th
    commit replaces one with new incompressible bytes (150 KB - 1.5 MB),
    every 45th patches a few KB of one in place (a delta against its previous
    version);
  - an annotated tag every 250 commits; release/1..5 branches fork from main
    (at commit 500, 1500, ...) and get 3-8 backport commits each.
With the defaults (seed 20261130): 5,029 commits, 26 refs, ~48,000 objects;
`git repack -adf` packs them into ~75 MB (blobs: ~33 MB of text history,
~38 MB of binaries; trees and commits ~4 MB); the checkout of main is ~40 MB
in ~1,500 files.
Python 3 standard library only.
"""

import argparse
import random
import sys

OUT = sys.stdout.buffer


def emit(b):
    OUT.write(b)


def data(payload):
    emit(b"data %d\n" % len(payload))
    emit(payload)
    emit(b"\n")


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        r = self.r
        syl = ["ka", "lo", "mi", "ne", "tu", "ra", "si", "po", "de", "fa", "gu", "hi", "jo", "be", "cu", "vo",
               "za", "xe", "qui", "sta", "tor", "ion", "ent", "al", "or", "ex", "pre", "con", "dis", "un"]
        words = set()
        while len(words) < 2000:
            words.add("".join(r.choice(syl) for _ in range(r.randint(2, 4))))
        self.words = sorted(words)
        self.types = ["int", "size_t", "uint32_t", "uint64_t", "char *", "const char *", "void *", "bool",
                      "double", "struct " + self.words[0] + " *", "ssize_t", "int64_t"]
        self.kw = ["if", "while", "for", "switch", "return"]

    def ident(self):
        r = self.r
        n = r.choice((1, 1, 2, 2, 3))
        return "_".join(r.choice(self.words) for _ in range(n))

    def line(self, depth):
        r = self.r
        ind = "    " * depth
        k = r.random()
        if k < 0.22:
            return "%s%s %s = %s(%s, %d);" % (ind, r.choice(self.types), self.ident(), self.ident(),
                                             self.ident(), r.randint(0, 4096))
        if k < 0.40:
            return "%s%s = %s->%s + %s;" % (ind, self.ident(), self.ident(), self.ident(), r.randint(1, 255))
        if k < 0.52:
            return "%sif (%s %s %s) {" % (ind, self.ident(), r.choice(("==", "!=", "<", ">=")), self.ident())
        if k < 0.60:
            return "%s}" % ind
        if k < 0.72:
            return "%s/* %s */" % (ind, " ".join(r.choice(self.words) for _ in range(r.randint(3, 12))))
        if k < 0.80:
            return "%sreturn %s(%s);" % (ind, self.ident(), ", ".join(self.ident() for _ in range(r.randint(0, 3))))
        if k < 0.86:
            return ""
        if k < 0.93:
            return '%s%s("%s: %%d\\n", %s);' % (ind, r.choice(("log_info", "log_debug", "printf")),
                                                 " ".join(r.choice(self.words) for _ in range(r.randint(2, 6))),
                                                 self.ident())
        return "%s%s(%s, 0x%08x);" % (ind, self.ident(), self.ident(), r.getrandbits(32))

    def lines(self, n):
        r = self.r
        return [self.line(r.choice((1, 1, 1, 2, 2, 3))) for _ in range(n)]

    def new_file(self, path):
        r = self.r
        out = ["/* %s -- generated for the cellar git benchmark */" % path, "#include \"%s.h\"" % self.ident(), ""]
        target = int(min(40000, max(2000, r.lognormvariate(9.0, 0.7))))  # bytes
        size = 0
        while size < target:
            name = self.ident()
            body = ["%s %s(%s)" % (r.choice(self.types), name, ", ".join(
                "%s %s" % (r.choice(self.types), self.ident()) for _ in range(r.randint(0, 4)))), "{"]
            body += self.lines(r.randint(4, 40))
            body += ["}", ""]
            out += body
            size += sum(len(x) + 1 for x in body)
        return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--commits", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=20261130)
    a = ap.parse_args()
    g = Gen(a.seed)
    r = g.r

    dirs = ["src/%s" % g.ident() for _ in range(40)] + ["lib/%s" % g.ident() for _ in range(20)] + \
           ["tests/%s" % g.ident() for _ in range(10)]
    files = {}  # path -> list of lines
    for d in dirs:
        for _ in range(r.randint(8, 24)):
            p = "%s/%s.c" % (d, g.ident())
            files[p] = g.new_file(p)
    assets = {}  # path -> bytes
    for i in range(24):
        assets["assets/blob%02d.bin" % i] = r.randbytes(r.randint(100_000, 800_000))
    hot = r.sample(sorted(files), 40)

    t0 = 1600000000
    mark = 0
    tags = []

    def who(i):
        n = i % 7
        return b"Dev%d <dev%d@example.com>" % (n, n)

    def commit(ref, i, parent, msg, changes):
        nonlocal mark
        mark += 1
        t = t0 + i * 3600
        emit(b"commit %s\nmark :%d\n" % (ref, mark))
        emit(b"author %s %d +0000\n" % (who(i), t))
        emit(b"committer %s %d +0000\n" % (who(i + 3), t))
        data(msg.encode())
        if parent:
            emit(b"from :%d\n" % parent)
        for c in changes:
            emit(c)
        return mark

    def modify_text(path, content):
        return b"M 100644 inline %s\n" % path.encode() + b"data %d\n" % len(content) + content + b"\n"

    def text_bytes(lines):
        return ("\n".join(lines) + "\n").encode()

    # The initial import.
    ch = [modify_text(p, text_bytes(files[p])) for p in sorted(files)]
    ch += [modify_text(p, b) for p, b in sorted(assets.items())]
    ch.append(modify_text("README.md", b"# benchmark project\n\nGenerated by bench/make_git_bench_repo.py.\n"))
    head = commit(b"refs/heads/main", 0, 0, "Initial import\n", ch)
    main_marks = [head]
    releases = []

    for i in range(1, a.commits + 1):
        ch = []
        k = r.random()
        subject = "%s %s: %s" % (r.choice(("Fix", "Add", "Refactor", "Update", "Remove", "Speed up", "Document")),
                                 g.ident(), " ".join(r.choice(g.words) for _ in range(r.randint(3, 9))))
        body = "\n".join(" ".join(r.choice(g.words) for _ in range(r.randint(6, 14)))
                         for _ in range(r.randint(0, 6)))
        msg = subject + "\n" + ("\n" + body + "\n" if body else "")
        if i % 150 == 0:  # a new version of a binary blob
            p = r.choice(sorted(assets))
            assets[p] = r.randbytes(r.randint(150_000, 1_500_000))
            ch.append(modify_text(p, assets[p]))
        elif i % 45 == 0:  # a patched binary
            p = r.choice(sorted(assets))
            b = bytearray(assets[p])
            for _ in range(r.randint(1, 4)):
                off = r.randrange(max(1, len(b) - 4096))
                n = r.randint(64, 4096)
                b[off:off + n] = r.randbytes(n)
            assets[p] = bytes(b)
            ch.append(modify_text(p, assets[p]))
        if i % 400 == 0:  # move a directory
            d = r.choice(dirs)
            nd = "%s/%s" % (d.split("/")[0], g.ident())
            for p in sorted(x for x in files if x.startswith(d + "/")):
                np_ = nd + p[len(d):]
                files[np_] = files.pop(p)
                ch.append(b"D %s\n" % p.encode())
                ch.append(modify_text(np_, text_bytes(files[np_])))
                if p in hot:
                    hot[hot.index(p)] = np_
            dirs[dirs.index(d)] = nd
        if k < 0.04:  # new files
            d = r.choice(dirs)
            for _ in range(r.randint(1, 3)):
                p = "%s/%s.c" % (d, g.ident())
                files[p] = g.new_file(p)
                ch.append(modify_text(p, text_bytes(files[p])))
        elif k < 0.055 and len(files) > 200:  # delete a file
            p = r.choice(sorted(set(files) - set(hot)))
            del files[p]
            ch.append(b"D %s\n" % p.encode())
        for _ in range(r.choice((1, 1, 2, 2, 3, 4, 6))):
            p = r.choice(hot) if r.random() < 0.35 else r.choice(sorted(files))
            if p not in files:
                continue
            lines = files[p]
            for _ in range(r.randint(1, 3)):
                at = r.randrange(len(lines) + 1)
                op = r.random()
                n = r.randint(1, 80)
                if op < 0.5:
                    lines[at:at + n] = g.lines(r.randint(1, n))
                elif op < 0.85:
                    lines[at:at] = g.lines(n)
                else:
                    del lines[at:at + n]
            if not lines:
                lines.append("/* empty */")
            ch.append(modify_text(p, text_bytes(lines)))
        head = commit(b"refs/heads/main", i, head, msg, ch)
        main_marks.append(head)
        if i % 250 == 0:
            tags.append((b"v%d.%d" % (i // 1000, (i % 1000) // 250), head, i))
        if i % 1000 == 500:  # a release branch with backports
            rel = b"refs/heads/release/%d" % (len(releases) + 1)
            rh = head
            for j in range(r.randint(3, 8)):
                p = r.choice(sorted(files))
                lines = list(files[p])
                at = r.randrange(len(lines) + 1)
                lines[at:at] = g.lines(r.randint(1, 10))
                rh = commit(rel, i, rh, "Backport %d to %s\n" % (j, rel.decode()),
                            [modify_text(p, text_bytes(lines))])
            releases.append(rel)

    for name, m, i in tags:
        emit(b"tag %s\nfrom :%d\ntagger Release Bot <release@example.com> %d +0000\n" % (name, m, t0 + i * 3600 + 60))
        data(b"Release %s\n" % name)
    emit(b"done\n")


if __name__ == "__main__":
    main()
