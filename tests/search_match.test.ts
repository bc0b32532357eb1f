import assert from "node:assert/strict";
import { matchingLines } from "../src/cli/search.ts";

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

Deno.test("a long matching line is cut around the match", () => {
  const line = "a".repeat(500) + " needle " + "b".repeat(500);
  const [m] = matchingLines(`first\n${line}\nlast`, "needle");
  assert.equal(m.line_number, 2);
  assert.ok(m.line.length <= 206 && m.line.includes("needle") && m.line.startsWith("..."));
});
