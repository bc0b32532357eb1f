/**
 * `cancel` signals only processes that belong to the run: a stale lock whose pid was reused, or a forged
 * lock, must not make it end unrelated processes or their groups.
 */
import assert from "node:assert/strict";
import { hostname } from "node:os";
import { cancelRun } from "../src/runner/cancel.ts";
import { MARKER } from "../src/runner/dispatch.ts";
import { projectPaths } from "../src/store/project.ts";
import { isAlive } from "../src/store/process_alive.ts";
import { tempDir } from "./support/temp.ts";

/** A process unrelated to any run, in its own group (a `kill(-pid)` would reach it too). */
function unrelated(env: Record<string, string> = {}): Deno.ChildProcess {
  return new Deno.Command("sleep", { args: ["300"], stdout: "null", stderr: "null", detached: true, env })
    .spawn();
}

Deno.test("cancel on a forged or stale lock leaves unrelated processes alone and ends only the run's marked ones", async () => {
  const dir = await tempDir();
  const victim = unrelated();
  const marker = `test-${crypto.randomUUID()}`;
  const marked = unrelated({ [MARKER]: marker });
  try {
    const paths = projectPaths(dir.path, "p");
    await Deno.mkdir(paths.logsDir, { recursive: true });
    // The lock names the unrelated process as dispatcher and as Claude Code (no start times: an old or
    // forged lock), and the run's marker.
    await Deno.writeTextFile(
      paths.lock,
      JSON.stringify({
        pid: victim.pid,
        claude_pid: victim.pid,
        marker,
        host: hostname(),
        started: new Date().toISOString(),
        command: "run",
        run_id: "",
        token: "forged",
      }),
    );
    const out = await cancelRun(paths, { waitMs: 300, host: hostname() });
    assert.equal(out.forced, true);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(isAlive(victim.pid), true, "the unrelated process was not signalled");
    assert.deepEqual(out.ended_processes.map((p) => p.pid), [marked.pid]);
    assert.equal((await marked.status).signal, "SIGTERM");
  } finally {
    for (const c of [victim, marked]) {
      try {
        c.kill("SIGKILL");
      } catch { /* gone */ }
      await c.status;
    }
    await dir.cleanup();
  }
});
