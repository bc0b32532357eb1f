/**
 * Run records and history lines are checked when read: a damaged one is reported as corrupt, never a
 * crash; and a run whose dispatcher died is "abandoned" for every reader (wait, history).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readHistory } from "../src/store/history.ts";
import type { LockState } from "../src/store/lock.ts";
import { normalizeHistoryEntry, normalizeRecord, settleRecord } from "../src/store/record.ts";
import { readRun } from "../src/store/runs.ts";
import { baseEnv, runCli } from "./support/cli.ts";
import { tempDir } from "./support/temp.ts";

const ID = "20260401-090000-999999";

/** A project folder with the given files in its .dispatch-logs/. */
async function project(files: Record<string, string>) {
  const t = await tempDir();
  const projects = join(t.path, "projects");
  const logs = join(projects, "p", ".dispatch-logs");
  await Deno.mkdir(logs, { recursive: true });
  for (const [name, text] of Object.entries(files)) await Deno.writeTextFile(join(logs, name), text);
  return { ...t, logs, env: baseEnv({ projects, home: t.path }) };
}

const held = (info: Partial<{ pid: number; run_id: string }> | null): LockState => ({
  held: true,
  reason: "held",
  info: info === null
    ? null
    : { pid: 1, host: "h", started: "", command: "run", run_id: "", token: "t", ...info },
});

Deno.test("a record lacking fields added later gets their empty values; one of the wrong shape is corrupt", () => {
  const old = normalizeRecord({ run_id: ID, status: "success", exit_code: 0, command: "run" });
  assert.ok(old.ok);
  assert.deepEqual(old.value.files_touched, []);
  assert.deepEqual(old.value.permission_denials, []);
  assert.equal(old.value.result, null);
  assert.equal(old.value.started, new Date(2026, 3, 1, 9, 0, 0).toISOString());
  assert.ok(normalizeRecord({ run_id: ID, status: "starting" }).ok, "a run going on has no exit code yet");

  const bad = (value: unknown) => {
    const r = normalizeRecord(value);
    assert.equal(r.ok, false, JSON.stringify(value));
    return r.ok ? "" : r.problem;
  };
  assert.match(bad({ status: "error", run_id: ID }), /no "exit_code"/);
  assert.match(
    bad({ status: "error", run_id: ID, exit_code: 300 }),
    /"exit_code" is not a documented exit code/,
  );
  assert.match(bad({ status: "done", run_id: ID, exit_code: 0 }), /"status"/);
  assert.match(bad({ status: "error", run_id: "x", exit_code: 1 }), /"run_id"/);
  assert.match(bad({ status: "error", run_id: ID, exit_code: 1, files_touched: "a.py" }), /files_touched/);
  assert.match(bad({ status: "error", run_id: ID, exit_code: 1, permission_denials: [null] }), /denials/);
  assert.match(bad([1, 2]), /not a JSON object/);
});

Deno.test("a history line of the wrong shape is corrupt; a good one keeps its values", () => {
  assert.equal(normalizeHistoryEntry({ run_id: "zzz", started: 7 }).ok, false);
  assert.equal(normalizeHistoryEntry({ run_id: ID, status: "success", started: 7 }).ok, false);
  const good = normalizeHistoryEntry({
    run_id: ID,
    status: "success",
    exit_code: 0,
    cost_usd: 0.5,
    tokens: { input_tokens: 3 },
  });
  assert.ok(good.ok);
  assert.equal(good.value.cost_usd, 0.5);
  assert.deepEqual(good.value.tokens, {
    input_tokens: 3,
    output_tokens: 0,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
  });
});

Deno.test("history reports a corrupt index line and goes on (exit 0, not 70)", async () => {
  const good = {
    run_id: ID,
    command: "run",
    status: "success",
    exit_code: 0,
    started: "2026-04-01T09:00:00Z",
  };
  const p = await project({ "runs.jsonl": `{"run_id":"zzz","started":7}\n${JSON.stringify(good)}\n` });
  try {
    const h = await readHistory(p.logs);
    assert.deepEqual(h.entries.map((e) => e.run_id), [ID]);
    assert.match(h.problems[0], /^runs\.jsonl:1 is corrupt/);
    const r = await runCli(["history", "--slug", "p", "--json"], { env: p.env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.runs.length, 1);
    assert.match(r.stderr, /runs\.jsonl:1 is corrupt/);
  } finally {
    await p.cleanup();
  }
});

Deno.test("wait on a damaged record reports it corrupt with exit 1, not a crash or its exit_code", async () => {
  for (
    const record of [
      { status: "error", run_id: ID },
      { status: "success", run_id: ID, exit_code: 300, command: "run", files_touched: [] },
    ]
  ) {
    const p = await project({ [`${ID}-run.json`]: JSON.stringify(record) });
    try {
      const r = await runCli(["wait", "--slug", "p", "--json"], { env: p.env });
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.json.status, "corrupt");
      assert.match(r.json.problem, new RegExp(`^${ID}-run\\.json is corrupt`));
      assert.match(r.stderr, /is corrupt/);
      const text = await runCli(["wait", "--slug", "p"], { env: p.env });
      assert.equal(text.code, 1, text.stderr);
      assert.match(text.stdout, /^CORRUPT: run /);
      assert.equal((await readRun(p.logs, ID)).status, "corrupt");
    } finally {
      await p.cleanup();
    }
  }
});

Deno.test("a run whose dispatcher died is abandoned (exit 1) for wait and history alike", async () => {
  const record = {
    version: 1,
    run_id: ID,
    command: "run",
    status: "running",
    exit_code: 0,
    pid: 999999,
    started: "2026-04-01T09:00:00Z",
  };
  const p = await project({ [`${ID}-run.json`]: JSON.stringify(record) });
  try {
    const w = await runCli(["wait", "--slug", "p", "--json"], { env: p.env });
    assert.equal(w.code, 1, w.stderr);
    assert.equal(w.json.status, "abandoned");
    assert.match(w.json.error, /dispatcher \(pid 999999\) ended without finishing the run/);
    const h = await runCli(["history", "--slug", "p", "--json"], { env: p.env });
    assert.equal(h.json.runs[0].status, "abandoned");
  } finally {
    await p.cleanup();
  }
});

Deno.test("settleRecord keeps a run going on while the lock is held for it, by run id or by dispatcher", () => {
  const run = { run_id: ID, status: "running", error: null, exit_code: 0, pid: 42 };
  assert.equal(settleRecord(run, held({ run_id: ID, pid: 7 })).status, "running");
  assert.equal(settleRecord(run, held({ run_id: "other", pid: 42 })).status, "running", "apply: next step");
  assert.equal(settleRecord(run, held(null)).status, "running", "a lock being written");
  const gone = settleRecord(run, null);
  assert.equal(gone.status, "abandoned");
  assert.equal(gone.exit_code, 1);
  assert.equal(settleRecord(run, held({ run_id: "other", pid: 7 })).status, "abandoned");
  assert.equal(settleRecord({ ...run, status: "success" }, null).status, "success");
  const summary = settleRecord({ run_id: ID, status: "starting", error: null }, null);
  assert.equal(summary.status, "abandoned");
  assert.equal("exit_code" in summary, false, "a summary gets no exit_code field");
});

Deno.test("the stored record status set: every status a run ends with is read back, anything else is corrupt", () => {
  const ok = [
    "starting",
    "running",
    "success",
    "error",
    "blocked",
    "max_turns",
    "budget_exceeded",
    "timeout",
    "interrupted",
    "cancelled",
    "crashed",
    "not_installed",
    "abandoned",
  ];
  for (const status of ok) {
    const r = normalizeRecord({ run_id: ID, status, exit_code: 0, command: "run" });
    assert.ok(r.ok, `${status}: ${!r.ok && r.problem}`);
    assert.equal(r.ok && r.value.status, status);
    const h = normalizeHistoryEntry({ run_id: ID, status, exit_code: 0, command: "run" });
    assert.ok(h.ok, `history ${status}`);
  }
  for (const status of ["", "bogus", "SUCCESS", "corrupt", "unknown", 3, null]) {
    const r = normalizeRecord({ run_id: ID, status, exit_code: 0, command: "run" });
    assert.equal(r.ok, false, `record status ${JSON.stringify(status)} is refused`);
  }
  // A history line may say what a reader found: a corrupt or unknown run.
  for (const status of ["corrupt", "unknown"]) {
    assert.ok(normalizeHistoryEntry({ run_id: ID, status, exit_code: 1, command: "run" }).ok, status);
  }
  assert.equal(
    normalizeHistoryEntry({ run_id: ID, status: "bogus", exit_code: 1, command: "run" }).ok,
    false,
  );
});

Deno.test("an abandoned run claims a resumable session only when its record holds one", () => {
  const base = { run_id: ID, status: "running", error: null, pid: 999_999_999 };
  const none = settleRecord({ ...base, session_id: null }, null);
  assert.equal(none.status, "abandoned");
  assert.doesNotMatch(none.error ?? "", /can be resumed/);
  assert.match(none.error ?? "", /no session was recorded/);
  const some = settleRecord({ ...base, session_id: "0b3a2c1e-5f6d-4e7a-8b9c-0d1e2f3a4b5c" }, null);
  assert.match(some.error ?? "", /the session can be resumed/);
});
