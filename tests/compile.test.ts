import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO } from "./support/cli.ts";
import { tempDir } from "./support/temp.ts";

async function compile(out: string, env: Record<string, string> = {}) {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--config", join(REPO, "deno.json"), "compile", out],
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: r.code, stderr: new TextDecoder().decode(r.stderr) };
}

Deno.test("compile builds a working binary, or says clearly why it cannot (never fails silently)", async () => {
  const t = await tempDir();
  try {
    const out = join(t.path, "dispatch-cc");
    const r = await compile(out);
    if (r.code === 0) {
      const v = await new Deno.Command(out, { args: ["--version"], stdout: "piped" }).output();
      assert.match(new TextDecoder().decode(v.stdout), /^dispatch-cc \d+\.\d+\.\d+/);
    } else {
      assert.match(r.stderr, /compile: deno compile could not download its base binary .*set DENORT_BIN/);
      assert.equal(await Deno.stat(out).then(() => true, () => false), false);
    }
  } finally {
    await t.cleanup();
  }
});

Deno.test("compile with a DENORT_BIN that is not a denort binary fails with a clear message", async () => {
  const t = await tempDir();
  try {
    const r = await compile(join(t.path, "x"), { DENORT_BIN: join(t.path, "no-such-denort") });
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /compile: failed with DENORT_BIN=.*no-such-denort: it must be an existing denort binary/,
    );
  } finally {
    await t.cleanup();
  }
});
