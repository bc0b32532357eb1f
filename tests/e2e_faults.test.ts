/**
 * Faults: API retries, a dispatcher killed with -9, and the CLI misbehaving in ways the real one cannot be
 * made to show (garbage output, a crash mid-stream, truncated output, a hang), through a fake `claude`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { baseEnv, collect, runCli, spawnCli } from "./support/cli.ts";
import { startE2E, until } from "./support/e2e.ts";
import { tempDir } from "./support/temp.ts";

/** The pid no longer names a live process (gone, or a zombie waiting for init). */
async function isGone(pid: number): Promise<boolean> {
  const out = await new Deno.Command("ps", { args: ["-o", "stat=", "-p", String(pid)], stdout: "piped" })
    .output();
  const stat = new TextDecoder().decode(out.stdout).trim();
  return stat === "" || stat.startsWith("Z");
}

const FAKE = fileURLToPath(new URL("./support/fake_claude.sh", import.meta.url));

Deno.test("API retries are shown as progress on stderr and the retried run succeeds", async () => {
  const e = await startE2E({ CLAUDE_CODE_MAX_RETRIES: "2" });
  try {
    e.api.scenario("flaky", [{ httpError: { status: 529, times: 1 }, text: "Worked on retry." }]);
    const r = await runCli(["run", "--slug", "flaky", "--prompt", "x [[mock:flaky]]", "--json"], {
      env: e.env,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.result, "Worked on retry.");
    assert.match(r.stderr, /API error 529; retry 1\/2/);
    assert.equal(r.stdout.trim()[0], "{", "progress never reaches stdout");
  } finally {
    await e.cleanup();
  }
});

Deno.test("a dispatcher killed with -9 while its Claude Code runs: the lock is not stale, no second specialist starts", async () => {
  const e = await startE2E();
  try {
    e.api.scenario("long", [{ text: "late", delayMs: 20_000 }]);
    e.api.scenario("next", [{ text: "next" }]);
    const child = spawnCli(["run", "--slug", "k9", "--prompt", "x [[mock:long]]"], { env: e.env });
    const lockPath = join(e.projects, "k9", ".dispatch-logs", "lock");
    assert.ok(await until(() => e.api.mainRequests("long").length > 0, 15_000));
    const lock = JSON.parse(await Deno.readTextFile(lockPath));
    assert.ok(lock.claude_pid > 0);
    child.kill("SIGKILL");
    await collect(child);
    const r = await runCli(["run", "--slug", "k9", "--prompt", "y [[mock:next]]", "--json"], { env: e.env });
    assert.equal(r.code, 5, r.stderr);
    assert.match(
      r.json.error.message,
      /dispatcher \(pid \d+\) is gone but its Claude Code \(pid \d+\) is still running/,
    );
    assert.equal(e.api.mainRequests("next").length, 0);
    // Once that Claude Code is gone, the lock is stale and is taken over with a message.
    Deno.kill(lock.claude_pid, "SIGKILL");
    assert.ok(await until(() => isGone(lock.claude_pid), 5000));
    const after = await runCli(["run", "--slug", "k9", "--prompt", "y [[mock:next]]", "--json"], {
      env: e.env,
    });
    assert.equal(after.code, 0, after.stderr);
    assert.match(after.stderr, /taking over a stale lock/);
    const status = await runCli(["status", "--slug", "k9", "--json"], { env: e.env });
    assert.equal(status.json.last_run.status, "success");
  } finally {
    await e.cleanup();
  }
});

async function fake(marker: string, extra: string[] = []) {
  const t = await tempDir();
  const env = baseEnv({ projects: join(t.path, "projects"), home: t.path }, { DISPATCH_CC_BIN: FAKE });
  const r = await runCli(["run", "--slug", "f", "--prompt", `[[fake:${marker}]]`, "--json", ...extra], {
    env,
  });
  const status = await runCli(["status", "--slug", "f", "--json"], { env });
  await t.cleanup();
  return { r, status };
}

Deno.test("garbage on stdout is reported as crashed, never success", async () => {
  const { r, status } = await fake("garbage");
  assert.equal(r.code, 1);
  assert.equal(r.json.status, "crashed");
  assert.match(r.json.error, /no JSON events/);
  assert.equal(status.json.last_run.status, "crashed");
});

Deno.test("a crash mid-stream is crashed, and the session id seen before it is kept", async () => {
  const { r, status } = await fake("crash");
  assert.equal(r.json.status, "crashed");
  assert.match(r.json.error, /exited with code 2/);
  assert.match(r.json.session_id, /^[0-9a-f-]{36}$/);
  assert.equal(status.json.session_id, r.json.session_id);
});

Deno.test("output that stops before the final result is crashed (truncated)", async () => {
  const { r } = await fake("truncated");
  assert.equal(r.json.status, "crashed");
  assert.match(r.json.error, /truncated/);
});

Deno.test("an error on stderr with nothing on stdout is reported with its text", async () => {
  const { r } = await fake("stderr");
  assert.equal(r.json.status, "crashed");
  // The CLI's own words reach the user, not just some message of some length.
  assert.match(r.json.error, /Error: fake failure on stderr/);
});

Deno.test("a hung CLI is ended at the timeout with its detached grandchild", async () => {
  const { r } = await fake("hang", ["--timeout", "2"]);
  assert.equal(r.code, 124);
  assert.equal(r.json.status, "timeout");
  assert.ok(r.json.ended_processes.length >= 1);
  assert.ok(r.json.duration_ms < 10_000);
});
