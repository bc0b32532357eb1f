/** Stat keys: equal for unchanged files, different after any change a cache must notice. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { keyFiles, statKey } from "../src/store/index_db.ts";
import { tempDir } from "./support/temp.ts";

Deno.test("a file's key changes when it is rewritten, replaced or touched, and not otherwise", async () => {
  const t = await tempDir();
  try {
    const f = join(t.path, "project.json");
    await Deno.writeTextFile(f, "{}");
    const k1 = statKey(f)!;
    assert.equal(statKey(f)!.key, k1.key);
    await new Promise((r) => setTimeout(r, 15));
    await Deno.writeTextFile(f, "{}"); // same size, new mtime
    const k2 = statKey(f)!;
    assert.notEqual(k2.key, k1.key);
    await Deno.writeTextFile(`${f}.tmp`, "{}");
    await Deno.rename(`${f}.tmp`, f); // a new inode
    assert.notEqual(statKey(f)!.key, k2.key);
    assert.equal(statKey(join(t.path, "missing")), null);
    // A folder's key with its files': null when one is missing, but for last-result.txt.
    await Deno.writeTextFile(join(t.path, "runs.jsonl"), "{}\n");
    const both = keyFiles(t.path, ["project.json", "runs.jsonl"])!;
    const parts = [t.path, f, join(t.path, "runs.jsonl")].map((p) => statKey(p)!);
    assert.equal(both.key, parts.map((k) => k.key).join(" "));
    assert.equal(both.changed, Math.max(...parts.map((k) => k.changed)));
    assert.notEqual(both.key, keyFiles(t.path, ["runs.jsonl", "project.json"])!.key, "order counts");
    assert.equal(keyFiles(t.path, ["project.json", "missing"]), null);
    assert.ok(keyFiles(t.path, ["project.json", "last-result.txt"]));
    await Deno.writeTextFile(join(t.path, "runs.jsonl"), "{}\n{}\n", { append: false });
    assert.notEqual(keyFiles(t.path, ["project.json", "runs.jsonl"])!.key, both.key, "rewritten in place");
  } finally {
    await t.cleanup();
  }
});
