import assert from "node:assert/strict";
import { hostname } from "node:os";
import { join } from "node:path";
import { acquireLock, lockState, takeOverStale } from "../src/store/lock.ts";
import { isDispatchCcCommand, processStartTime } from "../src/store/process_alive.ts";
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

Deno.test("a pid reused by another process is not the holder: the recorded start time must match", () => {
  const started = (times: Record<number, string | null>) => (pid: number) => times[pid] ?? null;
  const at = "Mon Jan  5 10:00:00 2026";
  const reused = lockState(lockText({ pid_started: at }), 0, {
    ...here([10]),
    started: started({ 10: "Tue Jan  6 09:00:00 2026" }),
  });
  assert.equal(reused.held, false, reused.reason);
  const same = lockState(lockText({ pid_started: at }), 0, { ...here([10]), started: started({ 10: at }) });
  assert.equal(same.held, true);
  // No ps (null), or a lock written before start times were recorded: liveness alone, as before.
  assert.equal(
    lockState(lockText({ pid_started: at }), 0, { ...here([10]), started: started({}) }).held,
    true,
  );
  assert.equal(lockState(lockText({}), 0, { ...here([10]), started: started({ 10: "other" }) }).held, true);
  // The same for a Claude Code pid left by a killed dispatcher.
  const claude = lockText({ claude_pid: 11, claude_started: at });
  assert.equal(lockState(claude, 0, { ...here([11]), started: started({ 11: "later" }) }).held, false);
  assert.equal(lockState(claude, 0, { ...here([11]), started: started({ 11: at }) }).held, true);
});

Deno.test("acquire records the holder's start time; a lock naming a live pid with another start time is taken over", async () => {
  const dir = await tempDir();
  try {
    const path = join(dir.path, "lock");
    const lock = await acquireLock(path, { command: "run", run_id: "r1" }, { warn: () => {} });
    const own = processStartTime(Deno.pid);
    assert.ok(own, "ps gives this process's start time");
    assert.equal(lock.info.pid_started, own);
    assert.equal(JSON.parse(await Deno.readTextFile(path)).pid_started, own);
    // A step starts Claude Code (here: a sleep), then ends: the lock stops naming it.
    const child = new Deno.Command("sleep", { args: ["30"], stdout: "null", stderr: "null" }).spawn();
    try {
      await lock.update({ claude_pid: child.pid, marker: "m" });
      const during = JSON.parse(await Deno.readTextFile(path));
      assert.equal(during.claude_pid, child.pid);
      assert.equal(during.claude_started, processStartTime(child.pid));
      await lock.update({ claude_pid: undefined, marker: undefined });
      const after = JSON.parse(await Deno.readTextFile(path));
      assert.equal("claude_pid" in after || "claude_started" in after || "marker" in after, false);
    } finally {
      child.kill();
      await child.status;
    }
    await lock.release();

    // A crash left a lock whose pid now belongs to someone else (this very process, started at another time).
    await Deno.writeTextFile(
      path,
      JSON.stringify({
        pid: Deno.pid,
        pid_started: "Thu Jan  1 00:00:00 1970",
        host: hostname(),
        started: "t",
        command: "run",
        run_id: "old",
        token: "x",
      }),
    );
    const warnings: string[] = [];
    const taken = await acquireLock(path, { command: "run", run_id: "r2" }, {
      warn: (m) => warnings.push(m),
    });
    assert.match(warnings.join("\n"), /taking over a stale lock/);
    await taken.release();
  } finally {
    await dir.cleanup();
  }
});

Deno.test("isDispatchCcCommand: this installation's main module, or this compiled binary, nothing else", () => {
  const url = "file:///opt/dcc/src/store/process_alive.ts";
  assert.equal(
    isDispatchCcCommand("deno run -P=dispatch --quiet /opt/dcc/src/main.ts run --slug x", false, url),
    true,
  );
  assert.equal(
    isDispatchCcCommand("/usr/bin/deno run -A /opt/dcc/src/main.ts __supervise /p/r.json", false, url),
    true,
  );
  assert.equal(isDispatchCcCommand("sleep 1000", false, url), false);
  assert.equal(isDispatchCcCommand("vim /opt/dcc/src/main.ts.bak", false, url), false);
  assert.equal(isDispatchCcCommand("deno run /other/src/main.ts", false, url), false);
  const bin = "/home/me/.local/bin/dispatch-cc";
  assert.equal(isDispatchCcCommand(`${bin} run --slug x`, true, url, bin), true);
  assert.equal(isDispatchCcCommand("dispatch-cc __supervise /p/r.json", true, url, bin), true);
  assert.equal(isDispatchCcCommand("/usr/bin/sleep dispatch-cc", true, url, bin), false);
});

Deno.test("isDispatchCcCommand: a relative src/main.ts (deno task) is resolved against the process's folder", () => {
  const url = new URL("../src/store/process_alive.ts", import.meta.url).href;
  const repo = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  assert.equal(isDispatchCcCommand("deno run -P=dispatch src/main.ts run", false, url, "deno", repo), true);
  assert.equal(isDispatchCcCommand("deno run ./src/../src/main.ts run", false, url, "deno", repo), true);
  assert.equal(isDispatchCcCommand("deno run src/main.ts run", false, url, "deno", "/tmp"), false);
  assert.equal(isDispatchCcCommand("deno run src/main.ts run", false, url, "deno", null), false);
});

Deno.test("a process's start time reads the same whatever the caller's TZ (boot-relative ticks)", async () => {
  const own = processStartTime(Deno.pid);
  assert.match(own ?? "", /^ticks:\d+$/);
  const code = `import { processStartTime } from "${
    new URL("../src/store/process_alive.ts", import.meta.url).href
  }"; console.log(processStartTime(${Deno.pid}));`;
  for (const tz of ["UTC", "Asia/Tokyo", "America/New_York"]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      env: { TZ: tz },
      stdout: "piped",
    }).output();
    assert.equal(new TextDecoder().decode(out.stdout).trim(), own, tz);
  }
});

Deno.test("a stale lock is taken over only if it is still the one judged stale (re-checked under the guard)", async () => {
  const dir = await tempDir();
  try {
    const path = join(dir.path, "lock");
    const judged = lockText({ pid: 999_999_999, host: hostname() });
    // Between the judgement and the takeover, another process took the lock: its lock must stay.
    const fresh = lockText({ pid: Deno.pid, host: hostname(), token: "fresh" });
    await Deno.writeTextFile(path, fresh);
    assert.equal(await takeOverStale(path, judged), false);
    assert.equal(await Deno.readTextFile(path), fresh);
    await Deno.writeTextFile(path, judged);
    assert.equal(await takeOverStale(path, judged), true);
    assert.equal(await Deno.stat(path).then(() => true, () => false), false);
  } finally {
    await dir.cleanup();
  }
});
