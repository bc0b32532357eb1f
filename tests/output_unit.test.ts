/**
 * Issue 16's pure parts: schema checks, the result's own validation, the feedback prompt, the rounds'
 * sums, the flags.
 */
import assert from "node:assert/strict";
import {
  checkStructuredOutput,
  loadValidators,
  readOutputSchema,
  schemaProblems,
  valueProblems,
} from "../src/runner/output_schema.ts";
import { combineRounds, feedbackPrompt, fenceFor, tailOf } from "../src/runner/verify.ts";
import { hookEnv, hookTimeoutMs } from "../src/runner/on_done.ts";
import type { Outcome } from "../src/runner/classify.ts";
import { emptyFold } from "../src/runner/fold.ts";
import { blankRecord, type RunRecord } from "../src/store/run_record.ts";
import { UsageError } from "../src/errors.ts";
import { loadTaskFile } from "../src/spec/load.ts";
import { verifyFromFlags } from "../src/cli/dispatch_options.ts";
import { parseOptions } from "../src/cli/options.ts";
import { DISPATCH_OPTIONS } from "../src/cli/dispatch_options.ts";
import type { FinalResult } from "../src/agents/events.ts";

const SCHEMA = { type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"] };

Deno.test("schemaProblems: meta-schema violations, non-objects and dangling refs are problems", async () => {
  await loadValidators();
  assert.deepEqual(schemaProblems(SCHEMA), []);
  assert.match(schemaProblems({ type: "objekt" })[0], /not a valid JSON Schema/);
  assert.match(schemaProblems({ required: "ok" })[0], /not a valid JSON Schema/);
  assert.match(schemaProblems([1])[0], /must be a JSON object/);
  assert.match(schemaProblems({ $ref: "#/$defs/nothing" })[0], /not a usable JSON Schema/);
  assert.deepEqual(
    schemaProblems({ $schema: "http://json-schema.org/draft-07/schema#", type: "object" }),
    [],
  );
});

Deno.test("readOutputSchema: inline, @FILE relative to the user's folder, usage errors otherwise", async () => {
  assert.deepEqual(await readOutputSchema(JSON.stringify(SCHEMA), "/u"), SCHEMA);
  const read = (p: string) =>
    p === "/u/s.json" ? Promise.resolve(JSON.stringify(SCHEMA)) : Promise.reject(new Deno.errors.NotFound());
  assert.deepEqual(await readOutputSchema("@s.json", "/u", read), SCHEMA);
  await assert.rejects(
    readOutputSchema("@t.json", "/u", read),
    (e: Error) => e instanceof UsageError && /no such file/.test(e.message),
  );
  await assert.rejects(
    readOutputSchema("{", "/u"),
    (e: Error) => e instanceof UsageError && /not JSON/.test(e.message),
  );
});

const outcome = (): Outcome => ({
  status: "success",
  exit_code: 0,
  error: null,
  api_error_status: null,
  permission_denials: [],
  integrity_problems: [],
});
const result = (structured: unknown): FinalResult => ({
  ok: true,
  subtype: "success",
  text: "x",
  session_id: null,
  num_turns: 1,
  cost_usd: null,
  reported_cost_usd: null,
  usage: null,
  api_error_status: null,
  errors: [],
  denials: [],
  stop_reason: null,
  ...(structured === undefined ? {} : { structured_output: structured }),
  raw_line: "{}",
});

Deno.test("checkStructuredOutput: dispatch-cc validates the object itself; a mismatch or none is an error", async () => {
  const fold = emptyFold();
  fold.results.push(result({ ok: "yes" }));
  const o = outcome();
  assert.deepEqual(await checkStructuredOutput(o, fold, SCHEMA), { structured_output: { ok: "yes" } });
  assert.equal(o.status, "error");
  assert.match(o.error!, /does not match the output schema: \/ok: must be boolean/);

  const none = emptyFold();
  none.results.push(result(undefined));
  const o2 = outcome();
  assert.deepEqual(await checkStructuredOutput(o2, none, SCHEMA), { structured_output: null });
  assert.equal(o2.exit_code, 1);

  const good = emptyFold();
  good.results.push(result({ ok: true }));
  const o3 = outcome();
  assert.deepEqual(await checkStructuredOutput(o3, good, SCHEMA), { structured_output: { ok: true } });
  assert.equal(o3.status, "success");
  assert.equal(await valueProblems(SCHEMA, {}), "/: must have required property 'ok'");
});

Deno.test("feedback prompt: command, exit code, the tail verbatim in a fence longer than its backticks", () => {
  const tail = "FAIL x\n```\ninner\n```";
  assert.equal(fenceFor(tail), "````");
  assert.equal(fenceFor("plain"), "```");
  const p = feedbackPrompt({ command: "npm test", exit_code: 2, output_tail: tail, ended: "exit" }, 1, 2);
  assert.ok(p.startsWith("The check `npm test` exited with code 2 (check 1 of 2)"));
  assert.ok(p.includes(`\`\`\`\`\n${tail}\n\`\`\`\``));
  assert.match(
    feedbackPrompt({ command: "c", exit_code: null, output_tail: "", ended: "timeout" }, 1, 1),
    /did not finish in time/,
  );
  assert.equal(tailOf("1\n2\n3\n", 2), "2\n3");
  assert.equal(tailOf("abcdef", 5, 3), "def");
});

const round = (id: string, status: RunRecord["status"], cost: number, turns: number): RunRecord => ({
  ...blankRecord(
    {
      slug: "s",
      project_dir: "/p",
      command: "run",
      status,
      session_mode: "new",
      permission: "acceptEdits",
      timeout_s: 60,
    },
    new Date("2026-01-01T00:00:00Z"),
    false,
  ),
  run_id: id,
  exit_code: status === "success" ? 0 : 1,
  cost_usd: cost,
  num_turns: turns,
  usage: { input_tokens: 10, output_tokens: 5 },
  record_file: `/p/.dispatch-logs/${id}-run.json`,
});
const check = (id: string, exit: number) => ({
  command: "t",
  exit_code: exit,
  passed: exit === 0,
  output_tail: `out ${id}`,
  ended: "exit" as const,
  duration_ms: 1,
  log_file: `/p/.dispatch-logs/${id}-verify.log`,
});

Deno.test("combineRounds: sums over rounds; success only if the last check passed, else verify_failed 8", () => {
  const ended = new Date("2026-01-01T00:01:00Z");
  const ok = combineRounds(
    [round("a", "success", 0.1, 2), round("b", "success", 0.2, 3)],
    [check("a", 1), check("b", 0)],
    1,
    null,
    ended,
  );
  assert.equal(ok.status, "success");
  assert.equal(ok.run_id, "b");
  assert.ok(Math.abs(ok.cost_usd! - 0.3) < 1e-12);
  assert.equal(ok.num_turns, 5);
  assert.deepEqual(ok.usage, { input_tokens: 20, output_tokens: 10 });
  assert.equal(ok.duration_ms, 60_000);
  assert.deepEqual(ok.verify, {
    command: "t",
    passed: true,
    attempts: 2,
    exit_code: 0,
    output_tail: "out b",
  });
  assert.deepEqual(ok.rounds!.map((r) => r.check), [{ exit_code: 1, passed: false }, {
    exit_code: 0,
    passed: true,
  }]);

  const bad = combineRounds([round("a", "success", 0.1, 2)], [check("a", 3)], 0, null, ended);
  assert.equal(bad.status, "verify_failed");
  assert.equal(bad.exit_code, 8);
  assert.match(bad.error!, /`t` exited with code 3/);

  const failedRound = combineRounds(
    [round("a", "success", 0.1, 2), round("b", "error", 0.1, 1)],
    [check("a", 3)],
    1,
    null,
    ended,
  );
  assert.equal(failedRound.status, "error", "a round that fails ends the run with its own status");

  const stopped = combineRounds(
    [round("a", "success", 0.1, 2)],
    [check("a", 3)],
    1,
    { why: "cancelled" },
    ended,
  );
  assert.equal(stopped.status, "cancelled");
  assert.equal(stopped.exit_code, 130);
});

Deno.test("--verify-retries: a whole number 0..20, only with --verify", () => {
  const parse = (...argv: string[]) => verifyFromFlags(parseOptions("run", argv, DISPATCH_OPTIONS));
  assert.deepEqual(parse("--verify", "make test"), { command: "make test", retries: 1 });
  assert.deepEqual(parse("--verify", "make test", "--verify-retries", "0"), {
    command: "make test",
    retries: 0,
  });
  assert.throws(() => parse("--verify", "x", "--verify-retries", "-1"), UsageError);
  assert.throws(() => parse("--verify-retries", "2"), /needs --verify/);
  assert.throws(() => parse("--verify", " "), /empty/);
});

Deno.test("hook environment and time limit", () => {
  const r = round("a", "success", 0, 1);
  assert.deepEqual(hookEnv(r), {
    DISPATCH_SLUG: "s",
    DISPATCH_RUN_ID: "a",
    DISPATCH_STATUS: "success",
    DISPATCH_EXIT_CODE: "0",
    DISPATCH_PROJECT_DIR: "/p",
  });
  assert.equal(hookTimeoutMs({}), 60_000);
  assert.equal(hookTimeoutMs({ DISPATCH_ON_DONE_TIMEOUT: "5" }), 5000);
  assert.equal(hookTimeoutMs({ DISPATCH_ON_DONE_TIMEOUT: "x" }), 60_000);
});

Deno.test("task files: an invalid output_schema is a problem at its entry, in the task, a follow-up, the review", async () => {
  const text = `slug: a
prompt: x
output_schema: {type: objekt}
follow_ups:
  - prompt: y
    output_schema: [1]
review:
  output_schema: {type: object, required: ok}
`;
  const read = () => Promise.resolve(text);
  const stat = () => Promise.resolve({ size: text.length, isFile: true });
  const { problems } = await loadTaskFile("/t/t.yaml", read, stat);
  const where = problems.map((p) => `${p.line}:${p.col} ${p.message}`);
  assert.equal(where.length, 3, where.join("\n"));
  assert.match(where[0], /^3:16 output_schema: not a valid JSON Schema/);
  assert.match(where[1], /^6:20 follow_ups\[0\]\.output_schema: expected a JSON Schema/);
  assert.match(where[2], /^8:18 review\.output_schema: not a valid JSON Schema/);
});
