/** Stat keys: equal for unchanged files, different after any change a cache must notice. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { hashNumbers, joinKeys, statKey } from "../src/store/index_db.ts";
import { tempDir } from "./support/temp.ts";

Deno.test("hashNumbers is stable, 53-bit, and tells close values apart", () => {
  assert.equal(hashNumbers([1, 2, 3]), hashNumbers([1, 2, 3]));
  const seen = new Set<number>();
  const base = 1_795_790_069_384; // a millisecond timestamp, above 2^32
  for (let ino = 0; ino < 20; ino++) {
    for (let size = 0; size < 20; size++) {
      for (let dm = 0; dm < 20; dm++) {
        const h = hashNumbers([ino, size, base + dm, base]);
        assert.ok(Number.isSafeInteger(h) && h >= 0);
        seen.add(h);
      }
    }
  }
  assert.equal(seen.size, 20 * 20 * 20, "no collisions among 8,000 neighbouring keys");
  assert.notEqual(hashNumbers([base, 0]), hashNumbers([base + 2 ** 32, 0]), "high words count");
  assert.notEqual(hashNumbers([1, 2]), hashNumbers([2, 1]), "order counts");
});

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
    assert.equal(joinKeys([k1, null]), null);
    assert.equal(joinKeys([k1, k2])!.changed, Math.max(k1.changed, k2.changed));
    assert.notEqual(joinKeys([k1, k2])!.key, joinKeys([k2, k1])!.key);
  } finally {
    await t.cleanup();
  }
});
