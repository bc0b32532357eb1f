import assert from "node:assert/strict";
import { join } from "node:path";
import { SEVERITY, type TaskOutcome, worstExitCode } from "../src/spec/apply.ts";
import { loadTaskFile } from "../src/spec/load.ts";
import {
  applyStatePath,
  continuation,
  firstToRun,
  readApplyState,
  recordStep,
  type StepState,
} from "../src/spec/state.ts";
import { planSlugSteps } from "../src/spec/steps.ts";
import { NO_SANDBOX } from "../src/sandbox/choice.ts";
import { tempDir } from "./support/temp.ts";

const done = (step: number, hash: string, status: StepState["status"] = "success") => ({
  step,
  hash,
  status,
});

Deno.test("firstToRun: unchanged and finished steps are skipped; a failed, running or changed step runs again", () => {
  const hashes = ["a", "b", "c"];
  assert.equal(firstToRun(hashes, [done(1, "a"), done(2, "b"), done(3, "c")], false), 3);
  assert.equal(firstToRun(hashes, [done(1, "a"), done(2, "B"), done(3, "c")], false), 1);
  assert.equal(firstToRun(hashes, [done(1, "a"), done(2, "b", "error"), done(3, "c")], false), 1);
  assert.equal(firstToRun(hashes, [done(1, "a"), done(2, "b", "running")], false), 1);
  assert.equal(firstToRun(hashes, [done(1, "a"), done(2, "b", "interrupted")], false), 1);
  assert.equal(firstToRun(hashes, [done(1, "a"), done(2, "b", "timeout")], false), 1);
  assert.equal(firstToRun(hashes, [done(1, "a"), done(2, "b")], false), 2, "a follow-up added at the end");
  assert.equal(firstToRun(hashes, [], false), 0);
  assert.equal(firstToRun(hashes, [done(1, "a"), done(2, "b"), done(3, "c")], true), 0, "--restart");
});

const entry = (
  step: number,
  kind: StepState["kind"],
  status: StepState["status"],
  session: string,
  uuid: string,
) => ({
  step,
  kind,
  status,
  session_id: session,
  last_assistant_uuid: uuid,
});

Deno.test("continuation: the task's session, rewound to the last step that ended cleanly", () => {
  const known = [
    entry(1, "prompt", "success", "s1", "u1"),
    entry(2, "follow_up", "success", "s1", "u2"),
    entry(3, "follow_up", "error", "s1", "u3"),
  ];
  assert.deepEqual(continuation(known, 1, 3), { sessionId: "s1", resumeAt: "u2" });
  assert.deepEqual(continuation(known, 1, 4), { sessionId: "s1", resumeAt: "u2" }, "skips the failed turn");
  assert.deepEqual(continuation([...known.slice(0, 1), entry(2, "follow_up", "blocked", "s1", "ub")], 1, 3), {
    sessionId: "s1",
    resumeAt: "ub",
  });
  assert.deepEqual(continuation([entry(1, "prompt", "error", "s1", "u1")], 1, 2), {
    sessionId: "s1",
    resumeAt: null,
  });
  assert.equal(
    continuation([entry(1, "prompt", "success", "s1", "u1")], 2, 3),
    null,
    "another task's session",
  );
  assert.equal(continuation([entry(1, "review", "success", "r", "u")], 1, 2), null, "never the review's");
});

Deno.test("recordStep writes atomically, keeps other steps, and drops steps past a shorter task", async () => {
  const dir = await tempDir();
  try {
    const path = applyStatePath(dir.path);
    const base: StepState = {
      step: 1,
      kind: "prompt",
      hash: "h1",
      status: "running",
      exit_code: null,
      session_id: "5e55e55e-0000-4000-8000-000000000001",
      run_id: null,
      result_file: null,
      last_assistant_uuid: null,
      file: "t.yaml",
      started: new Date().toISOString(),
      ended: null,
    };
    for (const step of [1, 2, 3]) await recordStep(path, "x", { ...base, step, status: "success" });
    await recordStep(path, "x", { ...base, step: 2, status: "error" });
    let { state, problem } = await readApplyState(path, "x");
    assert.equal(problem, null);
    assert.deepEqual(state.steps.map((s) => [s.step, s.status]), [[1, "success"], [2, "error"], [
      3,
      "success",
    ]]);
    await recordStep(path, "x", { ...base, step: 2, status: "running" }, 2);
    ({ state } = await readApplyState(path, "x"));
    assert.deepEqual(state.steps.map((s) => s.step), [1, 2]);
    assert.deepEqual(
      [...Deno.readDirSync(dir.path)].map((e) => e.name),
      ["apply-state.json"],
      "no temp file left",
    );
    await Deno.writeTextFile(path, "{not json");
    ({ state, problem } = await readApplyState(path, "x"));
    assert.deepEqual(state.steps, []);
    assert.match(problem!, /corrupt/);
    assert.deepEqual((await readApplyState(join(dir.path, "none.json"), "x")).problem, null);
  } finally {
    await dir.cleanup();
  }
});

Deno.test("the worst step gives the exit code: interrupted > timeout > error > lock held > blocked > limit > success", () => {
  const order = ["interrupted", "timeout", "error", "lock_held", "blocked", "max_turns", "success"];
  for (let i = 0; i + 1 < order.length; i++) assert.ok(SEVERITY[order[i]] > SEVERITY[order[i + 1]], order[i]);
  const codes: Record<string, number> = {
    interrupted: 130,
    timeout: 124,
    error: 1,
    lock_held: 5,
    blocked: 4,
    max_turns: 6,
    success: 0,
  };
  const task = (statuses: string[]): TaskOutcome => ({
    slug: "t",
    file: "f",
    steps: statuses.map((status, i) => ({
      step: i + 1,
      kind: "follow_up",
      status: status as StepState["status"],
      exit_code: codes[status] ?? null,
      session_id: null,
      run_id: null,
    })),
  });
  assert.equal(worstExitCode([task(["success", "max_turns"]), task(["blocked"])]), 4);
  assert.equal(worstExitCode([task(["error"]), task(["timeout", "success"])]), 124);
  assert.equal(worstExitCode([task(["lock_held"]), task(["blocked"])]), 5);
  assert.equal(worstExitCode([task(["interrupted"]), task(["timeout"])]), 130);
  assert.equal(worstExitCode([task(["success", "not_run"])]), 0);
});

Deno.test("step settings: flags beat the step, the step beats the task; the review is read-only unless it says otherwise", async () => {
  const dir = await tempDir();
  try {
    const file = join(dir.path, "t.yaml");
    await Deno.writeTextFile(
      file,
      "slug: s\nmodel: haiku\ntimeout: 1m\nallowed_tools: [Bash]\nprompt: a\nfollow_ups:\n" +
        "  - {prompt: b, model: sonnet, timeout: 2m, when: always}\nreview: true\n",
    );
    const { tasks } = await loadTaskFile(file);
    const defaults = { permission: "acceptEdits" as const, timeoutS: 600, sandbox: NO_SANDBOX };
    const plain = await planSlugSteps(tasks, {}, defaults);
    assert.deepEqual(plain.map((s) => [s.position, s.kind, s.when, s.request.model, s.request.timeoutS]), [
      [1, "prompt", "success", "haiku", 60],
      [2, "follow_up", "always", "sonnet", 120],
      [3, "review", "success", "haiku", 60],
    ]);
    assert.equal(plain[2].request.permission, "plan");
    assert.equal(
      plain[2].request.allowedTools,
      undefined,
      "the task's allow-list is not handed to the review",
    );
    assert.equal(plain[2].request.role, "review");
    const flagged = await planSlugSteps(
      tasks,
      { model: "opus", timeoutS: 30, permission: "default" },
      defaults,
    );
    assert.deepEqual(flagged.map((s) => [s.request.model, s.request.timeoutS, s.request.permission]), [
      ["opus", 30, "default"],
      ["opus", 30, "default"],
      ["opus", 30, "plan"],
    ]);
    assert.notEqual(flagged[0].hash, plain[0].hash, "flags change the hashes");
    const twice = await planSlugSteps([...tasks, ...tasks], {}, defaults);
    assert.deepEqual(twice.map((s) => [s.position, s.taskFirst]), [[1, 1], [2, 1], [3, 1], [4, 4], [5, 4], [
      6,
      4,
    ]]);
    assert.notEqual(twice[3].hash, twice[0].hash, "hashes chain across a slug's tasks");
  } finally {
    await dir.cleanup();
  }
});

Deno.test("apply state read back: a session id or uuid that is not a UUID is dropped, the step runs again, with a problem", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "apply-state.json");
    const good = crypto.randomUUID();
    const step = (n: number, session_id: string, last: string) => ({
      step: n,
      kind: n === 1 ? "prompt" : "follow_up",
      hash: `h${n}`,
      status: "success",
      exit_code: 0,
      session_id,
      run_id: null,
      result_file: null,
      last_assistant_uuid: last,
      file: "t.yaml",
      started: "2026-01-01T00:00:00Z",
      ended: null,
    });
    await Deno.writeTextFile(
      path,
      JSON.stringify({
        version: 1,
        slug: "s",
        steps: [step(1, good, crypto.randomUUID()), step(2, "--help", "x; rm -rf /"), step(3, good, "--x")],
      }),
    );
    const { state, problem } = await readApplyState(path, "s");
    assert.match(problem ?? "", /2 step\(s\) with a malformed session id/);
    assert.equal(state.steps[0].session_id, good);
    assert.equal(state.steps[1].session_id, null);
    assert.equal(state.steps[1].status, "error");
    assert.equal(state.steps[1].last_assistant_uuid, null);
    assert.equal(state.steps[2].session_id, good);
    assert.equal(state.steps[2].last_assistant_uuid, null);
    assert.equal(firstToRun(["h1", "h2", "h3"], state.steps, false), 1);
    assert.deepEqual(continuation(state.steps, 1, 4), {
      sessionId: good,
      resumeAt: state.steps[0].last_assistant_uuid,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
