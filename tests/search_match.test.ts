import assert from "node:assert/strict";
import { FirstMatches } from "../src/cli/search.ts";
import { matchingLines, matchProject } from "../src/search_match.ts";

/** The plain definition: every line that contains the needle, case-insensitively, numbered from 1. */
function naive(text: string, needle: string) {
  return text.split("\n").flatMap((line, i) => line.toLowerCase().includes(needle) ? [i + 1] : []);
}

Deno.test("matchingLines finds exactly the lines a line-by-line scan finds, numbered alike", () => {
  let seed = 7;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  const words = ["Tests", "pass", "\n", "tests", "x", "TESTS\n", "İstanbul", " ", "\n\n", "te", "sts"];
  for (let k = 0; k < 500; k++) {
    const text = Array.from({ length: rnd(40) }, () => words[rnd(words.length)]).join("");
    for (const needle of ["tests", "pass", "x", "i̇stanbul", "t"]) {
      assert.deepEqual(
        matchingLines(text, needle).map((m) => m.line_number),
        naive(text, needle),
        JSON.stringify(text),
      );
    }
  }
});

Deno.test("counting a project's matches gives what building them gives", () => {
  let seed = 11;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  const words = ["Tests", "pass", "\n", "tests", "x", "TESTS\n", "İstanbul", " ", "All tests pass\n", "sts"];
  const text = () => Array.from({ length: rnd(30) }, () => words[rnd(words.length)]).join("");
  for (let k = 0; k < 300; k++) {
    const last = text();
    const src = {
      description: text(),
      meta_problem: null,
      last_result: rnd(3) ? last : null,
      runs: Array.from(
        { length: rnd(5) },
        (_, i) => [`r${i}`, rnd(4) ? (i === 0 ? last : text()) : null, null],
      ) as [
        string,
        string | null,
        null,
      ][],
    };
    for (const needle of ["tests", "pass", "x", "i̇stanbul", "all tests pass"]) {
      const built = matchProject("tests-slug", src, needle);
      assert.equal(matchProject("tests-slug", src, needle, false).count, built.matches.length);
      assert.equal(built.count, built.matches.length);
    }
  }
});

Deno.test("a long matching line is cut around the match", () => {
  const line = "a".repeat(500) + " needle " + "b".repeat(500);
  const [m] = matchingLines(`first\n${line}\nlast`, "needle");
  assert.equal(m.line_number, 2);
  assert.ok(m.line.length <= 206 && m.line.includes("needle") && m.line.startsWith("..."));
});

Deno.test("the first N matches in slug order are kept whatever order projects are visited in", () => {
  let seed = 3;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  for (let round = 0; round < 200; round++) {
    const projects = Array.from({ length: 1 + rnd(30) }, (_, i) => ({
      slug: `p${String(i).padStart(3, "0")}`,
      matches: Array.from({ length: rnd(5) }, (_, k) => ({
        slug: `p${String(i).padStart(3, "0")}`,
        field: "result" as const,
        source: "last-result.txt",
        line_number: k + 1,
        line: `line ${k}`,
      })),
    }));
    const limit = rnd(12);
    const expected = projects.flatMap((p) => p.matches);
    const order = [...projects].sort(() => rnd(3) - 1);
    const first = new FirstMatches(limit);
    for (const p of order) if (first.wants(p.slug)) first.add(p.slug, p.matches);
    assert.deepEqual(first.result(), limit === 0 ? expected : expected.slice(0, limit));
  }
});
