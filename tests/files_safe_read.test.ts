import assert from "node:assert/strict";
import { join } from "node:path";
import {
  checkRegularFile,
  readJsonObjectSafe,
  readJsonObjectSafeSync,
  readTextSafe,
  readTextSafeSync,
} from "../src/store/files.ts";
import { tempDir } from "./support/temp.ts";

async function mkfifo(path: string) {
  const out = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.ok(out.success, "mkfifo");
}

Deno.test("a FIFO is reported as not a regular file instead of blocking the read", async () => {
  const dir = await tempDir();
  try {
    const fifo = join(dir.path, "project.json");
    await mkfifo(fifo);
    const r = await readTextSafe(fifo);
    assert.deepEqual(r, { ok: false, problem: "not a regular file", detail: "a FIFO" });
    const s = readTextSafeSync(fifo);
    assert.equal(s.ok, false);
    const j = await readJsonObjectSafe(fifo);
    assert.deepEqual(j, { ok: false, problem: "not a regular file (a FIFO)" });
    assert.equal(readJsonObjectSafeSync(fifo).ok, false);
  } finally {
    await dir.cleanup();
  }
});

Deno.test("a symlink to /dev/zero is reported, not read for ever", async () => {
  const dir = await tempDir();
  try {
    const link = join(dir.path, "last-result.txt");
    await Deno.symlink("/dev/zero", link);
    const r = await readTextSafe(link);
    assert.deepEqual(r, { ok: false, problem: "not a regular file", detail: "a character device" });
    assert.equal(readTextSafeSync(link).ok, false);
  } finally {
    await dir.cleanup();
  }
});

Deno.test("a file over the size limit is refused without reading it", async () => {
  const dir = await tempDir();
  try {
    const big = join(dir.path, "big");
    await Deno.writeTextFile(big, "x".repeat(2000));
    const r = await readTextSafe(big, { maxBytes: 1000 });
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.problem, "too large");
    assert.equal(readTextSafeSync(big, { maxBytes: 1000 }).ok, false);
    assert.deepEqual(await readTextSafe(big, { maxBytes: 2000 }), { ok: true, text: "x".repeat(2000) });
    assert.deepEqual(readTextSafeSync(big, { maxBytes: 2000 }), { ok: true, text: "x".repeat(2000) });
  } finally {
    await dir.cleanup();
  }
});

Deno.test("missing, empty, directory and regular files each get their answer", async () => {
  const dir = await tempDir();
  try {
    assert.deepEqual(await readTextSafe(join(dir.path, "nope")), { ok: false, problem: "missing" });
    await Deno.writeTextFile(join(dir.path, "e"), "\n");
    assert.deepEqual(await readTextSafe(join(dir.path, "e")), { ok: false, problem: "empty" });
    assert.deepEqual(await readTextSafe(dir.path), {
      ok: false,
      problem: "not a regular file",
      detail: "a directory",
    });
    await Deno.writeTextFile(join(dir.path, "j"), '{"a":1}');
    assert.deepEqual(await readJsonObjectSafe(join(dir.path, "j")), { ok: true, value: { a: 1 } });
    assert.deepEqual(readJsonObjectSafeSync(join(dir.path, "j")), { ok: true, value: { a: 1 } });
    const c = await checkRegularFile(join(dir.path, "j"));
    assert.equal(c.ok && c.size, 7);
  } finally {
    await dir.cleanup();
  }
});
