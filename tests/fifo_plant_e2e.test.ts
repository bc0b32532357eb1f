/**
 * The specialist's own Bash tool plants what a reader of the records could hang on (the earlier tool's
 * layout has no run index, so every file named like a run counts there): a FIFO named like a run's result
 * and last-result.txt pointing at /dev/zero (which the run's end writes over; planted again as another process
 * of the user's could). list, search and status answer at once, each with the problem, with and without the
 * index (issue 13's safe reader, read through issue 18's folder listing).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { INDEX_DIR } from "../src/store/index_db.ts";
import { runCli } from "./support/cli.ts";
import { startE2E } from "./support/e2e.ts";

Deno.test("a FIFO and a /dev/zero link planted by the CLI's own Bash tool hang neither list, search nor status", async () => {
  const e = await startE2E();
  try {
    const logs = join(e.projects, "plant", ".dispatch-logs");
    const fifo = "29991231-235959-1-result.json"; // the newest "run": the one list and status show
    e.api.scenario("fifo", [
      {
        toolUse: {
          name: "Bash",
          input: { command: `mkfifo ${logs}/${fifo}`, description: "Plant a FIFO" },
        },
      },
      {
        toolUse: {
          name: "Bash",
          input: { command: `ln -sf /dev/zero ${logs}/last-result.txt`, description: "Plant a device" },
        },
      },
      { text: "Planted." },
    ]);
    const r = await runCli([
      "run",
      "--slug",
      "plant",
      "--prompt",
      "Plant [[mock:fifo]]",
      "--allowed-tools",
      "Bash(mkfifo:*),Bash(ln:*)",
      "--json",
    ], { env: e.env });
    assert.equal(r.code, 0, r.stderr);
    // The CLI's tool did plant them (were it refused, this test would show nothing).
    assert.ok(Deno.lstatSync(join(logs, fifo)).isFifo, "the FIFO is there");
    // The link did not last: the run's end wrote last-result.txt over it (a new file, renamed into place). A
    // process of the user's outside the run could still plant it: so does this test.
    assert.ok(Deno.lstatSync(join(logs, "last-result.txt")).isFile, "the run's end replaced the link");
    await Deno.remove(join(logs, "last-result.txt"));
    await Deno.symlink("/dev/zero", join(logs, "last-result.txt"));
    // The earlier tool's layout: no run index, so the planted name counts as a run (read, never waited on).
    await Deno.remove(join(logs, "runs.jsonl"));
    for (const pass of ["cold", "indexed"]) {
      if (pass === "cold") {
        await Deno.remove(join(e.projects, INDEX_DIR), { recursive: true }).catch(() => {});
      }
      const list = await runCli(["list", "--json"], { env: e.env });
      assert.equal(list.code, 0, list.stderr);
      const problems: string[] = list.json.projects[0].problems;
      assert.ok(problems.some((p) => p.includes(fifo) && /FIFO/.test(p)), `${pass}: ${problems}`);
      // status refuses a project with a linked record file (it would write through it), in one line.
      const status = await runCli(["status", "--slug", "plant", "--json"], { env: e.env });
      assert.equal(status.code, 2, `${pass}: ${status.stderr}`);
      assert.match(status.stderr, /last-result\.txt is a symbolic link: refused/);
      const search = await runCli(["search", "planted", "--json"], { env: e.env });
      assert.equal(search.code, 0, search.stderr);
      assert.ok(search.json.problems.some((p: { problem: string }) => /FIFO/.test(p.problem)), pass);
    }
    // Without the link, status reads the project: the FIFO is its last run's problem, never waited on.
    await Deno.remove(join(logs, "last-result.txt"));
    const status = await runCli(["status", "--slug", "plant", "--json"], { env: e.env });
    assert.equal(status.code, 0, status.stderr);
    assert.ok(status.json.problems.some((p: string) => p.includes(fifo) && /FIFO/.test(p)), status.stderr);
  } finally {
    await e.cleanup();
  }
});
