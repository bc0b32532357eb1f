/**
 * apply with structured output, a check and a completion hook from a task file (issue 16 parts 1-4): the
 * real Claude Code CLI against the scripted endpoint.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "./support/cli.ts";
import { startE2E } from "./support/e2e.ts";

const task = (root: string) =>
  `slug: ap
prompt: "Report [[mock:ap1]]"
output_schema:
  type: object
  properties:
    ok: {type: boolean}
  required: [ok]
on_done: "echo $DISPATCH_RUN_ID $DISPATCH_STATUS >> ${root}/hooks.txt"
follow_ups:
  - prompt: "Now the file [[mock:ap2]]"
    verify: {command: "test -f done.txt || { echo no done.txt; exit 2; }", retries: 1}
`;

Deno.test("apply: a task file's verify and on_done need --allow-commands; refused at their entries, nothing runs", async () => {
  const e = await startE2E();
  try {
    const file = join(e.root, "t.yaml");
    await Deno.writeTextFile(file, task(e.root));
    const r = await runCli(["apply", file, "--json"], { env: e.env });
    assert.equal(r.code, 2, r.stderr);
    const messages = r.json.problems.map((p: { line: number; message: string }) => `${p.line}: ${p.message}`);
    assert.equal(messages.length, 2, messages.join("\n"));
    assert.match(messages[0], /^8: on_done: .*--allow-commands/);
    assert.match(messages[1], /^11: follow_ups\[0\]\.verify: .*--allow-commands/);
    assert.equal(e.api.mainRequests().length, 0);
    const v = await runCli(["validate", file, "--allow-commands"], { env: e.env });
    assert.equal(v.code, 0, v.stdout + v.stderr);
  } finally {
    await e.cleanup();
  }
});

Deno.test("apply --json: each step carries its result, cost, tokens, structured output and check; hooks run per step", async () => {
  const e = await startE2E();
  try {
    e.api.scenario("ap1", [
      { toolUse: { name: "StructuredOutput", input: { ok: true } } },
      { text: "Reported ok." },
    ]);
    e.api.scenario("ap2", [
      { text: "Forgot it." },
      { toolUse: { name: "Write", input: { file_path: "done.txt", content: "x" } } },
      { text: "Wrote done.txt.\nSecond line.\nThird line.\nFourth line." },
    ]);
    const file = join(e.root, "t.yaml");
    await Deno.writeTextFile(file, task(e.root));
    const r = await runCli(["apply", file, "--allow-commands", "--result-limit", "5", "--json"], {
      env: e.env,
    });
    assert.equal(r.code, 0, r.stderr);
    const [s1, s2] = r.json.tasks[0].steps;
    assert.equal(s1.status, "success");
    assert.deepEqual(s1.structured_output, { ok: true });
    // With a schema, Claude Code's result text is the object as JSON.
    assert.equal(s1.result, '{"ok"');
    assert.equal(s1.result_truncated, true);
    assert.ok(s1.cost_usd > 0);
    assert.ok(s1.tokens.output_tokens > 0);
    assert.equal(s1.verify, undefined);
    assert.equal(s2.status, "success");
    assert.equal(s2.verify.passed, true);
    assert.equal(s2.verify.attempts, 2);
    assert.equal(s2.structured_output, undefined, "a follow-up does not inherit the task's schema");
    const hooks = (await Deno.readTextFile(join(e.root, "hooks.txt"))).trim().split("\n");
    assert.deepEqual(hooks, [`${s1.run_id} success`, `${s2.run_id} success`]);

    // Text output: each step's first lines (the check fails again at first: the same rounds).
    await Deno.remove(join(e.projects, "ap", "done.txt"));
    const again = await runCli(["apply", file, "--allow-commands", "--restart"], { env: e.env });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /\| Wrote done\.txt\.\n.*\| Second line\.\n.*\| Third line\.\n.*1 more line/);
    assert.match(again.stdout, /verify: passed/);
  } finally {
    await e.cleanup();
  }
});
