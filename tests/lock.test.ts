import assert from "node:assert/strict";
import { hostname } from "node:os";
import { join } from "node:path";
import { acquireLock, lockState } from "../src/store/lock.ts";
import { LockHeldError } from "../src/errors.ts";
import { tempDir } from "./support/temp.ts";

const here = (alive: number[]) => ({ host: "h", alive: (pid: number) => alive.includes(pid) });
const lockText = (fields: Record<string, unknown>) =>
  JSON.stringify({ pid: 10, host: "h", started: "t", command: "run", run_id: "r", token: "x", ...fields });

Deno.test("a lock whose dispatcher is alive is held", () => {
  const s = lockState(lockText({}), 0, here([10]));
  assert.equal(s.held, true);
  assert.match(s.reason, /held by dispatch-cc pid 10/);
});

Deno.test("a lock whose processes are all gone is stale", () => {
  const s = lockState(lockText({ claude_pid: 11 }), 0, here([]));
  assert.equal(s.held, false);
  assert.match(s.reason, /pid 10 .* is gone/);
});

Deno.test("a lock whose dispatcher was killed while its Claude Code still runs is held, and says so", () => {
  const s = lockState(lockText({ claude_pid: 11 }), 0, here([11]));
  assert.equal(s.held, true);
  assert.match(s.reason, /dispatcher \(pid 10\) is gone but its Claude Code \(pid 11\) is still running/);
});

Deno.test("a lock from another host is held (its processes cannot be checked)", () => {
  const s = lockState(lockText({ host: "other" }), 0, here([]));
  assert.equal(s.held, true);
  assert.match(s.reason, /another host/);
});

Deno.test("a corrupt lock is held while fresh (being written) and stale when old", () => {
  assert.equal(lockState("{", 100, here([])).held, true);
  assert.equal(lockState("{", 60_000, here([])).held, false);
});

Deno.test("acquire takes over a stale lock with a message and refuses a live one at once", async () => {
  const t = await tempDir();
  try {
    const path = join(t.path, "lock");
    await Deno.writeTextFile(
      path,
      JSON.stringify({
        pid: 999_999_9,
        host: hostname(),
        started: "earlier",
        command: "run",
        run_id: "",
        token: "old",
      }),
    );
    const warnings: string[] = [];
    const lock = await acquireLock(path, { command: "run", run_id: "" }, { warn: (m) => warnings.push(m) });
    assert.match(warnings.join("\n"), /taking over a stale lock: dispatcher pid 9999999/);
    assert.equal(JSON.parse(await Deno.readTextFile(path)).pid, Deno.pid);
    await assert.rejects(
      acquireLock(path, { command: "run", run_id: "" }, { warn: () => {} }),
      (e) => e instanceof LockHeldError && /held by dispatch-cc pid/.test(e.message),
    );
    await lock.release();
    assert.equal(await Deno.stat(path).then(() => true, () => false), false);
  } finally {
    await t.cleanup();
  }
});

Deno.test("release never removes a lock that another process took over", async () => {
  const t = await tempDir();
  try {
    const path = join(t.path, "lock");
    const lock = await acquireLock(path, { command: "run", run_id: "" }, { warn: () => {} });
    await Deno.writeTextFile(path, lockText({ token: "someone-else" }));
    await lock.release();
    assert.equal(JSON.parse(await Deno.readTextFile(path)).token, "someone-else");
  } finally {
    await t.cleanup();
  }
});

Deno.test("many concurrent acquirers of a stale lock: exactly one wins", async () => {
  const t = await tempDir();
  try {
    const path = join(t.path, "lock");
    await Deno.writeTextFile(
      path,
      JSON.stringify({
        pid: 999_999_8,
        host: hostname(),
        started: "x",
        command: "run",
        run_id: "",
        token: "old",
      }),
    );
    // Separate processes, since one process holds one pid.
    const script = `import { acquireLock } from ${
      JSON.stringify(new URL("../src/store/lock.ts", import.meta.url).href)
    };
try { await acquireLock(${
      JSON.stringify(path)
    }, { command: "run", run_id: "" }, { warn: () => {} }); console.log("won"); await new Promise((r) => setTimeout(r, 1500)); }
catch (e) { console.log(e.name); }`;
    const runs = await Promise.all(
      Array.from(
        { length: 5 },
        () =>
          new Deno.Command(Deno.execPath(), { args: ["eval", script], stdout: "piped", stderr: "piped" })
            .output(),
      ),
    );
    const outs = runs.map((r) => new TextDecoder().decode(r.stdout).trim());
    assert.equal(outs.filter((o) => o === "won").length, 1, outs.join(","));
    assert.equal(outs.filter((o) => o === "LockHeldError").length, 4, outs.join(","));
  } finally {
    await t.cleanup();
  }
});
