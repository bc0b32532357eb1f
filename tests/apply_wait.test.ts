/**
 * Two applies of the same task at once: the one that waits for the lock (`--wait`) decides what to run
 * only once it holds the lock, so it never runs again what the other just finished. Uses the fake
 * `claude` (a slow start keeps the first apply busy while the second waits).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { baseEnv, collect, spawnCli } from "./support/cli.ts";
import { until } from "./support/e2e.ts";
import { tempDir } from "./support/temp.ts";

const FAKE = fileURLToPath(new URL("./support/fake_claude.sh", import.meta.url));

Deno.test("apply --wait after another apply of the same steps runs nothing again: two runs, not four", async () => {
  const t = await tempDir();
  try {
    const env = baseEnv({ projects: join(t.path, "projects"), home: t.path }, { DISPATCH_CC_BIN: FAKE });
    const file = join(t.path, "twice.yaml");
    await Deno.writeTextFile(
      file,
      "slug: twice\nprompt: First [[fake:slow-init 1]]\nfollow_ups:\n  - Second [[fake:slow-init 1]]\n",
    );
    const logs = join(t.path, "projects", "twice", ".dispatch-logs");
    const first = spawnCli(["apply", file, "--wait", "--json"], { env });
    // The second starts once the first holds the lock: it reads "nothing done yet", then waits.
    const locked = await until(() => Deno.stat(join(logs, "lock")).then(() => true, () => false), 15_000);
    const second = spawnCli(["apply", file, "--wait", "--json"], { env });
    const [a, b] = await Promise.all([collect(first), collect(second)]);
    assert.ok(locked, "the first apply took the lock");
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const records = [...Deno.readDirSync(logs)].filter((e) => e.name.endsWith("-run.json"));
    assert.equal(records.length, 2, records.map((r) => r.name).join(", "));
    const ranBy = (doc: { tasks: { steps: { skipped?: boolean }[] }[] }) =>
      doc.tasks.flatMap((task) => task.steps).filter((s) => !s.skipped).length;
    assert.equal(ranBy(a.json) + ranBy(b.json), 2, "each step ran once, in one of the two applies");
  } finally {
    await t.cleanup();
  }
});
