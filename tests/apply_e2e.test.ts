/**
 * `apply` end to end: the real Claude Code CLI against the scripted endpoint, through dispatch-cc started
 * as users start it. Task files are written into a temp folder; prompts carry `[[mock:NAME]]` markers
 * where a test scripts the answers (unmarked prompts get "done").
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { collect, runCli, spawnCli } from "./support/cli.ts";
import { type E2E, startE2E, until } from "./support/e2e.ts";

const EXAMPLES = new URL("../tasks.example/", import.meta.url).pathname;
// deno-lint-ignore no-explicit-any
type Json = any;

const readJson = async (p: string): Promise<Json> => JSON.parse(await Deno.readTextFile(p));
const exists = (p: string) => Deno.stat(p).then(() => true, () => false);
const logs = (e: E2E, slug: string) => join(e.projects, slug, ".dispatch-logs");
const state = (e: E2E, slug: string) => readJson(join(logs(e, slug), "apply-state.json"));
const steps = (doc: Json, slug: string): Json[] =>
  doc.tasks.filter((t: Json) => t.slug === slug).flatMap((t: Json) => t.steps);

async function write(e: E2E, name: string, text: string): Promise<string> {
  const path = join(e.root, name);
  await Deno.writeTextFile(path, text);
  return path;
}

function apply(e: E2E, args: string[]) {
  return runCli(["apply", ...args, "--json"], { env: e.env });
}

/** The text of every user message of a request, one string per message. */
function userTexts(req: Json): string[] {
  return req.body.messages.filter((m: Json) => m.role === "user").map((m: Json) =>
    typeof m.content === "string" ? m.content : m.content.map((b: Json) => b.text ?? "").join("\n")
  );
}

Deno.test("every file in tasks.example applies end to end; applying again runs nothing; a changed follow-up re-runs from there", async () => {
  const e = await startE2E();
  try {
    const files: string[] = [];
    for (const entry of Deno.readDirSync(EXAMPLES)) {
      if (!entry.name.endsWith(".yaml")) continue;
      await Deno.copyFile(join(EXAMPLES, entry.name), join(e.root, entry.name));
      files.push(join(e.root, entry.name));
    }
    files.sort();
    assert.ok(files.length >= 3);
    const r = await apply(e, [...files, "--parallel", "2"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.version, 1);
    assert.equal(r.json.exit_code, 0);
    const slugs = r.json.tasks.map((t: Json) => t.slug).sort();
    assert.deepEqual(slugs, ["code-analysis", "hello-script", "todo-api", "word-count"]);
    for (const t of r.json.tasks) {
      for (const s of t.steps) {
        assert.equal(s.status, "success", `${t.slug} step ${s.step}`);
        assert.equal(s.exit_code, 0);
        assert.match(s.run_id, /^\d{8}-\d{6}-\d+/);
        assert.equal(s.skipped, undefined);
      }
    }

    // todo-api: prompt, two follow-ups on the same session, a review in a new, read-only session.
    const todo = steps(r.json, "todo-api");
    assert.deepEqual(todo.map((s) => s.kind), ["prompt", "follow_up", "follow_up", "review"]);
    assert.equal(todo[1].session_id, todo[0].session_id);
    assert.equal(todo[2].session_id, todo[0].session_id);
    assert.notEqual(todo[3].session_id, todo[0].session_id);
    const review = await readJson(join(logs(e, "todo-api"), `${todo[3].run_id}-run.json`));
    assert.equal(review.permission, "plan");
    assert.equal(review.command, "apply");
    const readme = await readJson(join(logs(e, "todo-api"), `${todo[2].run_id}-run.json`));
    assert.equal(readme.timeout_s, 300, "the follow-up's own timeout");
    assert.equal(readme.session_mode, "resume");
    assert.equal(
      (await Deno.readTextFile(join(logs(e, "todo-api"), "last-session-id"))).trim(),
      todo[0].session_id,
    );
    assert.equal(
      (await Deno.readTextFile(join(logs(e, "todo-api"), "last-review-session-id"))).trim(),
      todo[3].session_id,
    );
    // The follow-up's request carries the conversation so far.
    const third = e.api.mainRequests().find((q) =>
      JSON.stringify(q.body.messages).includes("Write a short README")
    )!;
    assert.ok(JSON.stringify(third.body.messages).includes("Add unit tests"));
    const st = await state(e, "todo-api");
    assert.deepEqual(st.steps.map((s: Json) => [s.step, s.kind, s.status]), [
      [1, "prompt", "success"],
      [2, "follow_up", "success"],
      [3, "follow_up", "success"],
      [4, "review", "success"],
    ]);
    assert.ok(st.steps.every((s: Json) => /^[0-9a-f]{64}$/.test(s.hash) && s.last_assistant_uuid));
    const analysis = await readJson(
      join(logs(e, "code-analysis"), `${steps(r.json, "code-analysis")[0].run_id}-run.json`),
    );
    assert.equal(analysis.permission, "plan");
    assert.equal(await exists(join(logs(e, "todo-api"), "lock")), false, "the lock is released");

    // Unchanged: every step is skipped and Claude Code is not started.
    const before = e.api.requests.length;
    const again = await apply(e, files);
    assert.equal(again.code, 0, again.stderr);
    assert.ok(again.json.tasks.flatMap((t: Json) => t.steps).every((s: Json) => s.skipped === true));
    assert.equal(e.api.requests.length, before, "no request reached the endpoint");

    // Step 2 changed: step 1 is skipped, steps 2..4 run again, on the same work session.
    const todoFile = files.find((f) => f.endsWith("build-todo-api.yaml"))!;
    const text = await Deno.readTextFile(todoFile);
    await Deno.writeTextFile(todoFile, text.replace("Add unit tests", "Add thorough unit tests"));
    const changed = await apply(e, [todoFile]);
    assert.equal(changed.code, 0, changed.stderr);
    const c = steps(changed.json, "todo-api");
    assert.deepEqual(c.map((s) => [s.step, s.status, s.skipped ?? false]), [
      [1, "success", true],
      [2, "success", false],
      [3, "success", false],
      [4, "success", false],
    ]);
    assert.equal(c[1].session_id, todo[0].session_id);
    // Rewound to the end of step 1: the old version of step 2 is not in the conversation.
    const redo = e.api.mainRequests().find((q) => JSON.stringify(q.body.messages).includes("thorough"))!;
    assert.equal(JSON.stringify(redo.body.messages).includes("Add unit tests"), false);
  } finally {
    await e.cleanup();
  }
});

const THREE_STEPS = (tag: string) =>
  `slug: ${tag}
prompt: First step [[mock:${tag}1]]
follow_ups:
  - Second step [[mock:${tag}2]]
  - Third step [[mock:${tag}3]]
`;

Deno.test("a step that failed (API error) continues on re-apply at that step, same session, rewound past the failed turn", async () => {
  const e = await startE2E();
  try {
    e.api.scenario("f1", [{ text: "one" }]);
    e.api.scenario("f2", [{ httpError: { status: 500 } }]);
    e.api.scenario("f3", [{ text: "three" }]);
    const file = await write(e, "f.yaml", THREE_STEPS("f"));
    const r = await apply(e, [file]);
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(steps(r.json, "f").map((s) => s.status), ["success", "error", "not_run"]);
    assert.equal(e.api.mainRequests("f3").length, 0, "the task stopped at the failed step");
    assert.equal((await state(e, "f")).steps[1].status, "error");

    e.api.scenario("f2", [{ text: "two" }]);
    const again = await apply(e, [file]);
    assert.equal(again.code, 0, again.stderr);
    const s = steps(again.json, "f");
    assert.deepEqual(s.map((x) => [x.status, x.skipped ?? false]), [["success", true], ["success", false], [
      "success",
      false,
    ]]);
    assert.equal(s[1].session_id, s[0].session_id);
    assert.equal(s[2].session_id, s[0].session_id);
    // Without the rewind, Claude Code merges the failed prompt with the new one into one user message.
    const retry = e.api.mainRequests("f2").at(-1)!;
    const texts = userTexts(retry);
    assert.equal(texts.filter((t) => t.includes("Second step")).length, 1);
    assert.equal(texts.at(-1)!.split("Second step").length - 1, 1, "the prompt is not repeated");
    assert.equal(JSON.stringify(retry.body.messages).includes("API Error"), false);
    assert.ok(JSON.stringify(retry.body.messages).includes("one"), "step 1's answer is kept");
  } finally {
    await e.cleanup();
  }
});

Deno.test("Ctrl-C during a step records it interrupted (exit 130, lock released); re-apply continues that step on the same session", async () => {
  const e = await startE2E();
  try {
    e.api.scenario("i1", [{ text: "one" }]);
    e.api.scenario("i2", [{ delayMs: 20_000, text: "late" }]);
    const file = await write(e, "i.yaml", THREE_STEPS("i"));
    const child = spawnCli(["apply", file, "--json"], { env: e.env });
    assert.ok(await until(() => e.api.mainRequests("i2").length > 0, 20_000), "step 2 started");
    const lock = await readJson(join(logs(e, "i"), "lock"));
    assert.equal(lock.command, "apply");
    const running = await state(e, "i");
    assert.equal(running.steps[1].status, "running");
    assert.equal(running.steps[1].session_id, running.steps[0].session_id);
    child.kill("SIGINT");
    const r = await collect(child);
    assert.equal(r.code, 130, r.stderr);
    assert.deepEqual(steps(r.json, "i").map((s) => s.status), ["success", "interrupted", "not_run"]);
    assert.equal((await state(e, "i")).steps[1].status, "interrupted");
    assert.equal(await exists(join(logs(e, "i"), "lock")), false);

    e.api.scenario("i2", [{ text: "two" }]);
    e.api.scenario("i3", [{ text: "three" }]);
    const again = await apply(e, [file]);
    assert.equal(again.code, 0, again.stderr);
    const s = steps(again.json, "i");
    assert.deepEqual(s.map((x) => x.skipped ?? false), [true, false, false]);
    assert.equal(s[1].session_id, s[0].session_id);
    const texts = userTexts(e.api.mainRequests("i2").at(-1)!);
    assert.equal(texts.at(-1)!.split("Second step").length - 1, 1);
  } finally {
    await e.cleanup();
  }
});

Deno.test("when: always runs a follow-up after a failed step; --restart runs everything again", async () => {
  const e = await startE2E();
  try {
    e.api.scenario("w2", [{ httpError: { status: 500 } }]);
    const file = await write(
      e,
      "w.yaml",
      `slug: w
prompt: Start
follow_ups:
  - Fails [[mock:w2]]
  - prompt: Report anyway
    when: always
  - Never reached
`,
    );
    const r = await apply(e, [file]);
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(steps(r.json, "w").map((s) => s.status), ["success", "error", "success", "not_run"]);
    e.api.scenario("w2", [{ text: "fine" }]);
    const restart = await apply(e, [file, "--restart"]);
    assert.equal(restart.code, 0, restart.stderr);
    const s = steps(restart.json, "w");
    assert.ok(s.every((x) => x.status === "success" && !x.skipped));
    assert.notEqual(s[0].session_id, steps(r.json, "w")[0].session_id, "a restart starts a new session");
  } finally {
    await e.cleanup();
  }
});

Deno.test("--parallel 2 runs two slugs at once; one slug's tasks run in file order", async () => {
  const e = await startE2E();
  try {
    e.api.scenario("slow", [{ delayMs: 1500, text: "slow done" }]);
    const file = await write(
      e,
      "p.yaml",
      `slug: pa
prompt: A [[mock:slow]]
---
slug: pb
prompt: B [[mock:slow]]
---
slug: pa
prompt: A again
`,
    );
    const r = await apply(e, [file, "--parallel", "2"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.json.tasks.map((t: Json) => [t.slug, t.steps.map((s: Json) => s.step)]), [
      ["pa", [1]],
      ["pa", [2]],
      ["pb", [1]],
    ]);
    const record = async (slug: string, runId: string) =>
      await readJson(join(logs(e, slug), `${runId}-run.json`));
    const a1 = await record("pa", steps(r.json, "pa")[0].run_id);
    const a2 = await record("pa", steps(r.json, "pa")[1].run_id);
    const b1 = await record("pb", steps(r.json, "pb")[0].run_id);
    assert.ok(
      Date.parse(a1.started) < Date.parse(b1.ended) && Date.parse(b1.started) < Date.parse(a1.ended),
      "overlap",
    );
    assert.ok(Date.parse(a2.started) >= Date.parse(a1.ended), "pa's second task after its first");
    assert.notEqual(a2.session_id, a1.session_id, "a second task of a slug starts its own session");
  } finally {
    await e.cleanup();
  }
});

Deno.test("--set and flags override the task file; --dry-run shows each step's arguments and runs nothing", async () => {
  const e = await startE2E({ SECRET_TOKEN: "s3cr3t-value" });
  try {
    const file = await write(
      e,
      "o.yaml",
      `slug: over
model: haiku
timeout: 10m
env: [SECRET_TOKEN]
prompt: Start
follow_ups:
  - prompt: Continue
    model: sonnet
review: true
`,
    );
    const dry = await apply(e, [
      file,
      "--allow-env",
      "SECRET_TOKEN",
      "--dry-run",
      "--set",
      "max_turns=7",
      "--set",
      "timeout=90s",
    ]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(dry.json.dry_run, true);
    const [p, f, rv] = dry.json.steps;
    assert.deepEqual(p.args.slice(0, 6), [
      "-p",
      "--output-format",
      "stream-json",
      "--verbose",
      "--permission-mode",
      "acceptEdits",
    ]);
    assert.ok(p.args.join(" ").includes("--model haiku --max-turns 7"));
    assert.equal(p.timeout_s, 90);
    assert.ok(f.args.join(" ").includes("--model sonnet"), "the follow-up's own model");
    assert.equal(f.session.mode, "resume");
    assert.equal(rv.permission, "plan");
    assert.equal(p.cwd, join(e.projects, "over"));
    assert.ok(p.env_names.includes("SECRET_TOKEN") && p.env_names.includes("ANTHROPIC_API_KEY"));
    assert.equal(
      dry.stdout.includes("s3cr3t-value") || dry.stdout.includes("test-key"),
      false,
      "names, never values",
    );
    // Text output: every step with its command line, folder and environment names.
    const text = await runCli([
      "apply",
      file,
      "--allow-env",
      "SECRET_TOKEN",
      "--dry-run",
      "--model",
      "opus",
      "--permission",
      "plan",
    ], {
      env: e.env,
    });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /over step 1 \(prompt, .*o\.yaml\): run, new session/);
    assert.match(
      text.stdout,
      /command: .*claude -p --output-format stream-json --verbose --permission-mode plan '--session-id=<new-session-id>' --model opus/,
    );
    assert.match(
      text.stdout,
      /over step 2 \(follow-up.*\n.*--model opus/,
      "a flag wins over the follow-up's own model",
    );
    assert.match(text.stdout, new RegExp(`cwd: +${join(e.projects, "over")}`));
    assert.match(text.stdout, /env: .*SECRET_TOKEN/);
    assert.equal(text.stdout.includes("s3cr3t-value"), false);
    assert.equal(e.api.requests.length, 0, "nothing ran");
    assert.equal(await exists(join(e.projects, "over")), false, "nothing was written");

    // A real run with overrides: the endpoint sees the model the flag named, for every step.
    const r = await apply(e, [
      file,
      "--allow-env",
      "SECRET_TOKEN",
      "--model",
      "claude-override-model",
      "--set",
      "review=false",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(steps(r.json, "over").map((s) => s.kind), ["prompt", "follow_up"]);
    assert.deepEqual(e.api.mainRequests().map((q) => q.body.model), [
      "claude-override-model",
      "claude-override-model",
    ]);
    const first = await readJson(join(logs(e, "over"), `${steps(r.json, "over")[0].run_id}-run.json`));
    assert.equal(first.timeout_s, 600);
    // After a failure, the dry run shows the session and the point it would continue from.
    const st = await state(e, "over");
    st.steps[1].status = "error";
    await Deno.writeTextFile(join(logs(e, "over"), "apply-state.json"), JSON.stringify(st));
    const dry2 = await apply(e, [
      file,
      "--allow-env",
      "SECRET_TOKEN",
      "--dry-run",
      "--model",
      "claude-override-model",
      "--set",
      "review=false",
    ]);
    const [s1, s2] = dry2.json.steps;
    assert.equal(s1.action, "skip");
    assert.equal(s2.action, "run");
    const args = s2.args.join(" ");
    assert.ok(
      args.includes(
        `--resume=${st.steps[0].session_id} --resume-session-at=${st.steps[0].last_assistant_uuid}`,
      ),
      args,
    );
  } finally {
    await e.cleanup();
  }
});

Deno.test("bad task files: validate and apply report every problem at file:line:col, exit 2, and run nothing", async () => {
  const e = await startE2E();
  try {
    const bad = await write(e, "bad.yaml", "slug: ok-slug\npromt: hi\ntimeout: 5x\n");
    const bad2 = await write(
      e,
      "bad2.yaml",
      "slug: two\nprompt: x\nfollow_ups:\n  - prompt: y\n    when: sometimes\n",
    );
    const dup = await write(e, "dup.yaml", "slug: ok-slug\nprompt: x\n");
    const dup2 = await write(e, "dup2.yaml", "# other\nslug: ok-slug\nprompt: y\n");
    const [v, vj, a, d, s, ok] = await Promise.all([
      runCli(["validate", bad, bad2], { env: e.env }),
      runCli(["validate", bad, bad2, "--json"], { env: e.env }),
      apply(e, [bad, bad2]),
      apply(e, [dup, dup2]),
      apply(e, [dup, "--set", "max_turn=3"]),
      runCli(["validate", join(EXAMPLES, "multi.yaml")], { env: e.env }),
    ]);
    assert.equal(v.code, 2);
    const lines = v.stdout.trim().split("\n");
    assert.ok(lines.includes(`${bad}:1:1: needs exactly one of prompt or prompt_file`), v.stdout);
    assert.ok(lines.includes(`${bad}:2:1: unknown key "promt" (did you mean "prompt"?)`), v.stdout);
    assert.ok(lines.some((l) => l.startsWith(`${bad}:3:10: timeout: invalid duration "5x"`)), v.stdout);
    assert.ok(
      lines.some((l) => l.startsWith(`${bad2}:5:11: follow_ups[0].when: unknown when "sometimes"`)),
      v.stdout,
    );
    assert.equal(vj.code, 2);
    assert.equal(vj.json.version, 1);
    assert.equal(vj.json.ok, false);
    assert.deepEqual(Object.keys(vj.json.problems[0]).sort(), ["col", "file", "line", "message"]);
    assert.equal(vj.json.problems.length, lines.length - 1);
    assert.equal(a.code, 2);
    assert.equal(a.json.ok, false);
    assert.equal(a.json.problems.length, vj.json.problems.length);
    assert.equal(d.code, 2);
    assert.deepEqual(d.json.problems.map((x: Json) => [x.file, x.line, x.col]), [[dup2, 2, 7]]);
    assert.match(d.json.problems[0].message, /slug "ok-slug" is also used in .*dup\.yaml:1/);
    assert.equal(s.code, 2);
    assert.match(s.stderr, /--set: unknown task field "max_turn" \(did you mean max_turns\?\)/);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /ok: 2 task\(s\)/);
    assert.equal(e.api.requests.length, 0);
    assert.equal(await exists(e.projects), false, "no project was created");
  } finally {
    await e.cleanup();
  }
});

Deno.test("schema prints the committed task.schema.json", async () => {
  const r = await runCli(["schema"], { env: { PATH: Deno.env.get("PATH") ?? "", HOME: "/nonexistent" } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, await Deno.readTextFile(join(EXAMPLES, "task.schema.json")));
});
