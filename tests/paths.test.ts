/** src/paths.ts gives node:path's POSIX results (it replaces node:path to keep start-up short). */
import assert from "node:assert/strict";
import * as node from "node:path";
import { fileURLToPath } from "node:url";
import * as ours from "../src/paths.ts";

const SAMPLES = [
  "",
  ".",
  "..",
  "/",
  "//",
  "a",
  "a/",
  "/a",
  "/a/",
  "a//b",
  "/a/b/c",
  "/a/b/c/",
  "a/./b",
  "a/../b",
  "../a",
  "../../a/b",
  "/..",
  "/../a",
  "a/b/../..",
  "a/b/../../..",
  "./a",
  "a/.",
  "a/..",
  "/a//b///c/",
  ".dispatch-logs",
  "/p/task-api/.dispatch-logs/20260101-000000-abcd.json",
  "x/../../y/./z/",
  "//a",
  "//a/b",
  "a/b//",
  "../",
  "./",
];

Deno.test("normalize, dirname, basename and isAbsolute match node:path", () => {
  for (const p of SAMPLES) {
    assert.equal(ours.normalize(p), node.normalize(p), `normalize(${JSON.stringify(p)})`);
    assert.equal(ours.dirname(p), node.dirname(p), `dirname(${JSON.stringify(p)})`);
    assert.equal(ours.basename(p), node.basename(p), `basename(${JSON.stringify(p)})`);
    assert.equal(ours.isAbsolute(p), node.isAbsolute(p), `isAbsolute(${JSON.stringify(p)})`);
  }
});

Deno.test("join, resolve and relative match node:path for every pair of samples", () => {
  for (const a of SAMPLES) {
    for (const b of SAMPLES) {
      assert.equal(ours.join(a, b), node.join(a, b), `join(${JSON.stringify(a)}, ${JSON.stringify(b)})`);
      assert.equal(
        ours.resolve(a, b),
        node.resolve(a, b),
        `resolve(${JSON.stringify(a)}, ${JSON.stringify(b)})`,
      );
      assert.equal(
        ours.relative(a, b),
        node.relative(a, b),
        `relative(${JSON.stringify(a)}, ${JSON.stringify(b)})`,
      );
    }
  }
  assert.equal(ours.join(), node.join());
  assert.equal(ours.join("a", "b", "../c", "/d"), node.join("a", "b", "../c", "/d"));
  assert.equal(ours.resolve(), node.resolve());
  assert.equal(ours.resolve("/x", "y", "/z", "w"), node.resolve("/x", "y", "/z", "w"));
  assert.equal(ours.delimiter, node.delimiter);
});

Deno.test("folderPrefix joined to a plain name is join's result, for every sample folder", () => {
  for (const dir of SAMPLES) {
    const prefix = ours.folderPrefix(dir);
    for (const name of ["a", "runs.jsonl", ".dispatch-logs", "x..y", "..."]) {
      if (prefix !== null) assert.equal(prefix + name, ours.join(dir, name), `${dir} ${name}`);
    }
  }
  assert.equal(ours.folderPrefix("/p/.dispatch-logs"), "/p/.dispatch-logs/");
  assert.equal(ours.folderPrefix("a/b"), "a/b/");
  assert.equal(ours.folderPrefix("/p/./logs/"), null);
  assert.equal(ours.folderPrefix("."), null);
});

Deno.test("fileUrlPath gives node:url's fileURLToPath for local file URLs and refuses others", () => {
  for (
    const href of [
      "file:///a/b.ts",
      "file:///with%20space/%C3%A9t%C3%A9.ts",
      "file:///a/../b/./c",
      "file:///",
    ]
  ) {
    assert.equal(ours.fileUrlPath(new URL(href)), fileURLToPath(new URL(href)), href);
  }
  assert.throws(() => ours.fileUrlPath(new URL("https://example.com/x.ts")), /not a local file URL/);
  assert.throws(() => ours.fileUrlPath(new URL("file://host/x.ts")), /not a local file URL/);
});

Deno.test("src/ imports no node: module (the first one costs about 10 ms of every start-up)", async () => {
  // The one exception: node:sqlite, imported lazily (await import) by the index, only by the commands
  // that open it (list, search, status, a run's end), and named as a type elsewhere.
  const lazySqlite = /await import\(\s*"node:sqlite"\s*\)|typeof import\(\s*"node:sqlite"\s*\)/g;
  const found: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(path);
      else if (
        e.name.endsWith(".ts") &&
        /\bfrom\s+["']node:|import\(\s*["']node:/.test(
          (await Deno.readTextFile(path)).replace(lazySqlite, ""),
        )
      ) {
        found.push(path);
      }
    }
  };
  await walk(new URL("../src", import.meta.url).pathname);
  assert.deepEqual(found, []);
});
