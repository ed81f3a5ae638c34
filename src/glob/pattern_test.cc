#include <gtest/gtest.h>

#include <string>

#include "glob/glob.h"

namespace cellar::glob {
namespace {

Pattern P(const std::string& text) {
  Result<Pattern> pattern = Pattern::Parse(text);
  EXPECT_TRUE(pattern.ok()) << text << ": " << pattern.status().ToString();
  return std::move(pattern).value();
}

TEST(PatternTest, LiteralSegmentsMatchExactly) {
  Pattern p = P("src/index.ts");
  EXPECT_TRUE(p.Matches("src/index.ts"));
  EXPECT_FALSE(p.Matches("src/index.tsx"));
  EXPECT_FALSE(p.Matches("src"));
  EXPECT_FALSE(p.Matches("src/index.ts/x"));
  EXPECT_FALSE(p.Matches("lib/src/index.ts"));
  EXPECT_FALSE(p.Matches("Src/index.ts"));  // case-sensitive
}

TEST(PatternTest, StarStaysWithinOneSegment) {
  Pattern p = P("src/*.ts");
  EXPECT_TRUE(p.Matches("src/a.ts"));
  EXPECT_TRUE(p.Matches("src/.ts"));
  EXPECT_TRUE(p.Matches("src/.hidden.ts"));  // wildcards match dot files
  EXPECT_FALSE(p.Matches("src/a/b.ts"));
  EXPECT_FALSE(p.Matches("src/a.tsx"));
  EXPECT_TRUE(P("*").Matches("anything"));
  EXPECT_FALSE(P("*").Matches("a/b"));
  EXPECT_TRUE(P("a*b*c").Matches("abc"));
  EXPECT_TRUE(P("a*b*c").Matches("aXbYbZc"));
  EXPECT_FALSE(P("a*b*c").Matches("aXbYcZ"));
  // Two stars inside a segment are one star, not a globstar.
  EXPECT_TRUE(P("a**z").Matches("abcz"));
  EXPECT_FALSE(P("a**z").Matches("ab/cz"));
}

TEST(PatternTest, StarBacktrackingIsNotExponential) {
  Pattern p = P("*a*a*a*a*a*a*a*a*a*a*b");
  EXPECT_FALSE(p.Matches(std::string(5000, 'a')));
  EXPECT_TRUE(p.Matches(std::string(5000, 'a') + "b"));
}

TEST(PatternTest, QuestionMarkIsOneCharacter) {
  Pattern p = P("file?.txt");
  EXPECT_TRUE(p.Matches("file1.txt"));
  EXPECT_FALSE(p.Matches("file.txt"));
  EXPECT_FALSE(p.Matches("file12.txt"));
  EXPECT_FALSE(P("a?b").Matches("a/b"));
}

TEST(PatternTest, CharacterClasses) {
  EXPECT_TRUE(P("[abc].js").Matches("b.js"));
  EXPECT_FALSE(P("[abc].js").Matches("d.js"));
  EXPECT_TRUE(P("v[0-9]").Matches("v7"));
  EXPECT_FALSE(P("v[0-9]").Matches("vx"));
  EXPECT_TRUE(P("[!a]x").Matches("bx"));
  EXPECT_FALSE(P("[!a]x").Matches("ax"));
  EXPECT_TRUE(P("[^a]x").Matches("bx"));
  EXPECT_FALSE(P("[^a]x").Matches("ax"));
  EXPECT_TRUE(P("[a-cx-z]").Matches("y"));
  EXPECT_FALSE(P("[a-cx-z]").Matches("m"));
  // ']' first in a class is a member; '-' last is literal.
  EXPECT_TRUE(P("[]]").Matches("]"));
  EXPECT_TRUE(P("[a-]").Matches("-"));
  EXPECT_TRUE(P("[\\]]").Matches("]"));
}

TEST(PatternTest, BackslashEscapes) {
  EXPECT_TRUE(P("a\\*b").Matches("a*b"));
  EXPECT_FALSE(P("a\\*b").Matches("axb"));
  EXPECT_TRUE(P("\\[x]").Matches("[x]"));
  EXPECT_TRUE(P("\\?").Matches("?"));
  EXPECT_FALSE(P("\\?").Matches("a"));
}

TEST(PatternTest, GlobstarAtStart) {
  Pattern p = P("**/*.ts");
  EXPECT_TRUE(p.Matches("a.ts"));
  EXPECT_TRUE(p.Matches("src/a.ts"));
  EXPECT_TRUE(p.Matches("src/deep/er/a.ts"));
  EXPECT_FALSE(p.Matches("src/a.js"));
}

TEST(PatternTest, GlobstarInTheMiddle) {
  Pattern p = P("src/**/test/*.ts");
  EXPECT_TRUE(p.Matches("src/test/a.ts"));
  EXPECT_TRUE(p.Matches("src/x/test/a.ts"));
  EXPECT_TRUE(p.Matches("src/x/y/test/a.ts"));
  EXPECT_TRUE(p.Matches("src/test/test/a.ts"));
  EXPECT_FALSE(p.Matches("src/x/test/y/a.ts"));
  EXPECT_FALSE(p.Matches("lib/test/a.ts"));
  EXPECT_TRUE(P("a/**/**/b").Matches("a/b"));
  EXPECT_TRUE(P("a/**/**/b").Matches("a/x/y/z/b"));
}

TEST(PatternTest, GlobstarAtEnd) {
  Pattern p = P("dist/**");
  EXPECT_TRUE(p.Matches("dist"));  // zero segments
  EXPECT_TRUE(p.Matches("dist/a"));
  EXPECT_TRUE(p.Matches("dist/a/b/c"));
  EXPECT_FALSE(p.Matches("distx/a"));
  EXPECT_TRUE(P("**").Matches("any/thing/at/all"));
  EXPECT_TRUE(P("**").Matches(".git/config"));
}

TEST(PatternTest, PathsAndPatternsAreNormalised) {
  EXPECT_TRUE(P("./src//a.ts").Matches("src/a.ts"));
  EXPECT_TRUE(P("src/").Matches("src"));
  EXPECT_TRUE(P("src").Matches("./src/"));
  EXPECT_TRUE(P(".").Matches(""));
  EXPECT_FALSE(P(".").Matches("a"));
  EXPECT_EQ(P("./src/").text(), "./src/");
}

TEST(PatternTest, InvalidPatternsAreRefused) {
  for (const char* text : {"", "/abs/path", "/", "../x", "a/../b", "a/..", "[abc", "a[",
                           "x/[]", "trailing\\", "[z-a]", "[\\"}) {
    Result<Pattern> pattern = Pattern::Parse(text);
    ASSERT_FALSE(pattern.ok()) << "'" << text << "' was accepted";
    EXPECT_EQ(pattern.status().code(), Code::kInvalidArgument) << text;
  }
  // Dots that are not a whole '..' segment are fine.
  EXPECT_TRUE(Pattern::Parse("..foo/a..b").ok());
}

TEST(PatternTest, CouldMatchUnderPrunesOnlyHopelessDirectories) {
  Pattern p = P("src/**/test/*.ts");
  EXPECT_TRUE(p.CouldMatchUnder(""));
  EXPECT_TRUE(p.CouldMatchUnder("src"));
  EXPECT_TRUE(p.CouldMatchUnder("src/a/b"));
  EXPECT_TRUE(p.CouldMatchUnder("src/test"));
  EXPECT_FALSE(p.CouldMatchUnder("lib"));
  EXPECT_FALSE(p.CouldMatchUnder("lib/src"));

  Pattern q = P("apps/*/package.json");
  EXPECT_TRUE(q.CouldMatchUnder("apps"));
  EXPECT_TRUE(q.CouldMatchUnder("apps/web"));
  EXPECT_FALSE(q.CouldMatchUnder("apps/web/src"));
  EXPECT_FALSE(q.CouldMatchUnder("packages"));

  // A fully matched pattern has nothing left for deeper paths.
  EXPECT_FALSE(P("dist").CouldMatchUnder("dist"));
  EXPECT_TRUE(P("dist/**").CouldMatchUnder("dist"));
  EXPECT_TRUE(P("dist/**").CouldMatchUnder("dist/a/b"));
  EXPECT_TRUE(P("**").CouldMatchUnder("x/y"));
}

TEST(PatternTest, MatchesPathOrParentSelectsEverythingBeneath) {
  Pattern p = P("dist");
  EXPECT_TRUE(p.MatchesPathOrParent("dist"));
  EXPECT_TRUE(p.MatchesPathOrParent("dist/a/b.js"));
  EXPECT_FALSE(p.MatchesPathOrParent("src/dist"));
  EXPECT_FALSE(p.MatchesPathOrParent("distribution/a"));
  EXPECT_TRUE(P("packages/*").MatchesPathOrParent("packages/a/src/x"));
  EXPECT_TRUE(P(".").MatchesPathOrParent("any/file"));
}

TEST(PatternTest, MatchesEverythingUnder) {
  EXPECT_TRUE(P("dist/**").MatchesEverythingUnder("dist"));
  EXPECT_TRUE(P("dist/**").MatchesEverythingUnder("dist/x"));
  EXPECT_FALSE(P("dist/**").MatchesEverythingUnder("src"));
  EXPECT_FALSE(P("dist").MatchesEverythingUnder("dist"));  // no trailing '**'
  EXPECT_FALSE(P("dist/**/*.js").MatchesEverythingUnder("dist"));
  EXPECT_TRUE(P("**/node_modules/**").MatchesEverythingUnder("a/node_modules"));
  EXPECT_TRUE(P("**/node_modules/**").MatchesEverythingUnder("a/node_modules/x"));
  EXPECT_FALSE(P("**/node_modules/**").MatchesEverythingUnder("a/b"));
  EXPECT_TRUE(P("**").MatchesEverythingUnder(""));
}

}  // namespace
}  // namespace cellar::glob
