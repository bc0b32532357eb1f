/** The supervisor on plain shell commands: our own failures never leave the child running. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { supervise, type SuperviseOptions } from "../src/runner/supervise.ts";
import { findMarked } from "../src/runner/sweep.ts";
import { tempDir } from "./support/temp.ts";

function options(
  dir: string,
  script: string,
  extra: Partial<SuperviseOptions> = {},
): SuperviseOptions {
  const marker = { name: "DISPATCH_CC_RUN", value: `test-${crypto.randomUUID()}` };
  return {
    command: "/bin/sh",
    args: ["-c", script],
    cwd: dir,
    env: { PATH: "/usr/bin:/bin", [marker.name]: marker.value },
    stdin: "",
    timeoutMs: 30_000,
    graceMs: 1000,
    marker,
    stderrPath: join(dir, "stderr.log"),
    onLine: () => {},
    ...extra,
  };
}

Deno.test("a failure while handling output ends the child and its detached grandchild, then is raised", async () => {
  const t = await tempDir();
  try {
    const o = options(t.path, "(setsid sleep 300 >/dev/null 2>&1 &); echo first; sleep 300", {
      onLine: () => {
        throw new Error("disk full");
      },
    });
    await assert.rejects(supervise(o), /disk full/);
    assert.deepEqual(await findMarked(o.marker.name, o.marker.value), []);
  } finally {
    await t.cleanup();
  }
});

Deno.test("a failure right after the start (recording the pid) ends the child too", async () => {
  const t = await tempDir();
  try {
    const o = options(t.path, "sleep 300", {
      onSpawn: () => {
        throw new Error("cannot write the lock");
      },
    });
    await assert.rejects(supervise(o), /cannot write the lock/);
    assert.deepEqual(await findMarked(o.marker.name, o.marker.value), []);
  } finally {
    await t.cleanup();
  }
});

Deno.test("a timeout longer than a timer can hold does not fire at once", async () => {
  const t = await tempDir();
  try {
    const seen: string[] = [];
    const r = await supervise(
      options(t.path, "sleep 0.3; echo done", { timeoutMs: 1e12, onLine: (l) => void seen.push(l) }),
    );
    assert.equal(r.ended, "exit");
    assert.deepEqual(seen, ["done"]);
  } finally {
    await t.cleanup();
  }
});

Deno.test("an abort ends the process group: TERM, then KILL after the grace period", async () => {
  const t = await tempDir();
  try {
    const ctl = new AbortController();
    const o = options(t.path, "trap '' TERM; echo up; sleep 300", {
      signal: ctl.signal,
      graceMs: 500,
      onLine: () => ctl.abort("cancelled"),
    });
    const r = await supervise(o);
    assert.equal(r.ended, "cancelled");
    assert.equal(r.signal, "SIGKILL");
    assert.deepEqual(await findMarked(o.marker.name, o.marker.value), []);
  } finally {
    await t.cleanup();
  }
});

/** Is a process whose command line is exactly `args` alive (not a zombie)? */
async function running(args: string): Promise<boolean> {
  const out = await new Deno.Command("ps", { args: ["-eo", "stat=,args="], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout).split("\n").some((l) => {
    const [stat, ...rest] = l.trim().split(/\s+/);
    return stat !== undefined && !stat.startsWith("Z") && rest.join(" ") === args;
  });
}

for (const how of ["exit", "timeout"] as const) {
  Deno.test(`a process outside the marker holding stdout does not hold the run after the child's ${how}`, async () => {
    const t = await tempDir();
    const tag = `${100000 + Math.floor(Math.random() * 800000)}`;
    try {
      // `env -i` drops the marker; the escaped sleep keeps the child's stdout (its fd 1) open.
      const script = `env -i setsid sleep ${tag} > /proc/$$/fd/1 2>/dev/null & echo '{"line":1}'; ` +
        (how === "exit" ? "sleep 1; exit 0" : "sleep 600");
      const seen: string[] = [];
      const r = await supervise(options(t.path, script, {
        timeoutMs: how === "timeout" ? 1500 : 30_000,
        onLine: (l) => void seen.push(l),
      }));
      assert.equal(r.ended, how);
      assert.deepEqual(seen, ['{"line":1}']);
      const holder = r.swept.find((p) => p.command.trim() === `sleep ${tag}`);
      assert.ok(holder, `the holder is reported as a leftover: ${JSON.stringify(r.swept)}`);
      assert.equal(await running(`sleep ${tag}`), false, "and ended");
    } finally {
      await t.cleanup();
    }
  });
}
