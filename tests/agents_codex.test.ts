/**
 * The Codex agent without processes: argv, permission mapping, and the line parser on streams recorded from
 * the real CLI (scripts/record_agent_streams.ts) against the stand-in Responses API.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { AgentInvocation, RunContext } from "../src/agents/agent.ts";
import type { AgentEvent, FinalResult } from "../src/agents/events.ts";
import { buildCodexArgs, codexSandbox, codexUnsupported } from "../src/agents/codex/args.ts";
import { codexAgent } from "../src/agents/codex/agent.ts";
import { codexParser } from "../src/agents/codex/events.ts";
import { findRollout, refusalsInRollout, rolloutState } from "../src/agents/codex/sessions.ts";

const FIX = join(import.meta.dirname!, "fixtures", "agents");
const inv = (over: Partial<AgentInvocation> = {}): AgentInvocation => ({
  session: { mode: "new", id: null },
  permission: "acceptEdits",
  projectDir: "/p",
  protectedPaths: [],
  ...over,
});
const ctx = (over: Partial<RunContext> = {}): RunContext => ({
  env: {},
  projectDir: "/p",
  permission: "acceptEdits",
  session: { mode: "new", id: null },
  ...over,
});

async function parse(name: string, c = ctx()): Promise<AgentEvent[]> {
  const parser = codexParser(c);
  return (await Deno.readTextFile(join(FIX, `codex-${name}.jsonl`))).split("\n").flatMap(parser);
}
const resultOf = (events: AgentEvent[]): FinalResult | undefined =>
  events.flatMap((e) => e.kind === "result" ? [e.result] : [])[0];

Deno.test("codex args: headless exec, prompt on stdin, sandbox from the permission mode", () => {
  assert.deepEqual(buildCodexArgs(inv()), [
    "exec",
    "--json",
    "--skip-git-repo-check",
    "-c",
    'sandbox_mode="workspace-write"',
    "-",
  ]);
  const cmd = codexAgent.command(inv(), "the prompt");
  assert.equal(cmd.stdin, "the prompt");
  assert.ok(!cmd.args.includes("the prompt"), "the prompt is never in argv");
  assert.deepEqual(
    buildCodexArgs(inv({ permission: "plan", model: "o3" })).slice(3),
    ["-c", 'sandbox_mode="read-only"', "-m", "o3", "-"],
  );
  assert.ok(
    buildCodexArgs(inv({ permission: "bypassPermissions" })).includes(
      "--dangerously-bypass-approvals-and-sandbox",
    ),
  );
});

Deno.test("codex args: resume puts the checked thread id after --; a non-UUID is refused", () => {
  const id = "01a2524e-00d4-7ef2-8f6b-2be511488540";
  const args = buildCodexArgs(inv({ session: { mode: "resume", id } }));
  assert.deepEqual(args.slice(0, 2), ["exec", "resume"]);
  assert.deepEqual(args.slice(-3), ["--", id, "-"]);
  assert.throws(
    () => buildCodexArgs(inv({ session: { mode: "resume", id: "--last" } })),
    /not a Codex thread id/,
  );
});

Deno.test("codex args: an appended system prompt is a TOML string in developer_instructions", () => {
  const args = buildCodexArgs(inv({ appendSystemPrompt: 'Say "hi"\nthen stop' }));
  assert.ok(args.includes(`developer_instructions="Say \\"hi\\"\\nthen stop"`));
});

Deno.test("codex permission mapping: plan/default read-only, acceptEdits workspace-write, bypass none", () => {
  assert.equal(codexSandbox("plan"), "read-only");
  assert.equal(codexSandbox("default"), "read-only");
  assert.equal(codexSandbox("dontAsk"), "read-only");
  assert.equal(codexSandbox("acceptEdits"), "workspace-write");
  assert.equal(codexSandbox("auto"), "workspace-write");
  assert.equal(codexSandbox("bypassPermissions"), null);
});

Deno.test("codex: options it cannot honour are warnings, not silently dropped", () => {
  const w = codexUnsupported(inv({ maxTurns: 3, maxBudgetUsd: 1, allowedTools: ["Read"] }));
  assert.equal(w.length, 3);
  assert.match(w[0], /no turn limit/);
  assert.deepEqual(codexUnsupported(inv()), []);
});

Deno.test("codex stream: session from thread.started, the shell call and its result, the final text and tokens", async () => {
  const events = await parse("write");
  const first = JSON.parse((await Deno.readTextFile(join(FIX, "codex-write.jsonl"))).split("\n")[0]);
  assert.deepEqual(events[0], { kind: "session", session_id: first.thread_id });
  const use = events.find((e) => e.kind === "tool_use");
  assert.equal(use?.kind === "tool_use" && use.name, "shell");
  const res = events.find((e) => e.kind === "tool_result");
  assert.ok(res?.kind === "tool_result" && !res.is_error && res.text === "hi\n");
  const r = resultOf(events)!;
  assert.equal(r.ok, true);
  assert.equal(r.text, "Wrote a.txt.");
  assert.equal(r.cost_usd, null, "Codex reports no cost: never invented");
  assert.deepEqual(r.usage, {
    input_tokens: 200,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    output_tokens: 100,
    reasoning_output_tokens: 0,
  });
  assert.equal(events.filter((e) => e.kind === "denial").length, 0);
});

Deno.test("codex stream: on resume the tokens are this run's own, not the thread's running total", async () => {
  const before = {
    input_tokens: 200,
    cached_input_tokens: 0,
    cache_write_input_tokens: 0,
    output_tokens: 100,
    reasoning_output_tokens: 0,
  };
  const c = ctx({
    session: { mode: "resume", id: "01a2524e-00d4-7ef2-8f6b-2be511488540" },
    notes: { usageBefore: before },
  });
  const r = resultOf(await parse("resumed", c))!;
  // The stand-in answered 7 in (2 cached) / 3 out; Codex printed 207 / 103, the thread's total.
  assert.deepEqual(r.usage, {
    input_tokens: 5,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 2,
    output_tokens: 3,
    reasoning_output_tokens: 0,
  });
  assert.equal(r.reported_usage?.output_tokens, 103);
  // Without the total before the run, this run's tokens are unknown rather than wrong.
  const unknown = resultOf(await parse("resumed", ctx({ session: { mode: "resume", id: "x" } })))!;
  assert.equal(unknown.usage, null);
});

Deno.test("codex stream: a write its workspace-write sandbox refused is a denial from the agent's sandbox", async () => {
  const events = await parse("outside");
  const denials = events.flatMap((e) => e.kind === "denial" ? [e.denial] : []);
  assert.equal(denials.length, 1);
  assert.equal(denials[0].source, "agent_sandbox");
  assert.match(denials[0].reason!, /Read-only file system/);
  // With no sandbox (bypass) the same text is just output.
  const bypass = await parse("outside", ctx({ permission: "bypassPermissions" }));
  assert.equal(bypass.filter((e) => e.kind === "denial").length, 0);
});

Deno.test("codex stream: the read-only sandbox's refusal is not on stdout (the session log has it)", async () => {
  const events = await parse("readonly", ctx({ permission: "plan" }));
  assert.equal(events.filter((e) => e.kind === "tool_use" || e.kind === "denial").length, 0);
  assert.equal(resultOf(events)?.ok, true);
});

Deno.test("codex stream: an API error ends in a failed result with the API's own text", async () => {
  const r = resultOf(await parse("api400"))!;
  assert.equal(r.ok, false);
  assert.deepEqual(r.errors, ["bad model"]);
  assert.equal(r.text, null);
});

Deno.test("codex stream: killed mid-run there is no result; the session is known", async () => {
  const events = await parse("killed");
  assert.equal(resultOf(events), undefined);
  assert.equal(events[0].kind, "session");
});

Deno.test("codex stream: every line reaches the fold (a second session or result is its to judge); the result names the first session", () => {
  const p = codexParser(ctx());
  const first = "01a2524e-00d4-7ef2-8f6b-2be511488540";
  const other = "01a2524e-0000-7ef2-8f6b-2be511488540";
  assert.deepEqual(p(`{"type":"thread.started","thread_id":"${first}"}`), [{
    kind: "session",
    session_id: first,
  }]);
  assert.deepEqual(p(`{"type":"thread.started","thread_id":"${other}"}`), [{
    kind: "session",
    session_id: other,
  }]);
  const [r] = p('{"type":"turn.completed","usage":{"input_tokens":1}}');
  assert.equal(r.kind === "result" && r.result.session_id, first);
  assert.equal(p('{"type":"turn.failed","error":{"message":"x"}}')[0].kind, "result");
  assert.deepEqual(p("not json"), [{ kind: "garbage" }]);
});

Deno.test("codex sessions: rollout found by thread id; its total before a resume; refusals in it", async () => {
  const home = await Deno.makeTempDir();
  try {
    const id = "01a25249-2f87-7de3-b681-6f5345196acf";
    const day = join(home, "sessions", "2026", "12", "07");
    await Deno.mkdir(day, { recursive: true });
    const lines = [
      { type: "session_meta", payload: { id } },
      {
        type: "response_item",
        payload: {
          type: "function_call",
          name: "exec_command",
          arguments: '{"cmd":"echo hi > a.txt"}',
          call_id: "c1",
        },
      },
      {
        type: "response_item",
        payload: {
          type: "function_call_output",
          call_id: "c1",
          output: "Process exited with code 1\nOutput:\n/bin/bash: line 1: a.txt: Read-only file system\n",
        },
      },
      {
        type: "event_msg",
        payload: {
          type: "token_count",
          info: { total_token_usage: { input_tokens: 200, output_tokens: 100 } },
        },
      },
    ].map((l) => JSON.stringify(l)).join("\n") + "\n";
    await Deno.writeTextFile(join(day, `rollout-2026-12-07T20-54-17-${id}.jsonl`), lines);
    const env = { CODEX_HOME: home };
    const file = await findRollout(env, id);
    assert.ok(file);
    assert.equal(await codexAgent.sessionExists(env, id, "/p"), true);
    assert.equal(await codexAgent.sessionExists(env, "01a25249-0000-7de3-b681-6f5345196acf", "/p"), false);
    assert.equal(await codexAgent.sessionExists(env, "../../etc", "/p"), false);
    const state = await rolloutState(file);
    assert.equal(state.usage?.input_tokens, 200);
    const refused = await refusalsInRollout(file, 0);
    assert.equal(refused.length, 1);
    assert.deepEqual(refused[0].input, { cmd: "echo hi > a.txt" });
    assert.equal(refused[0].source, "agent_sandbox");
    // Only this run's part of the log counts.
    assert.deepEqual(await refusalsInRollout(file, state.size), []);
    // afterRun (read-only modes only) turns them into denials.
    const c = ctx({ env, permission: "plan", session: { mode: "new", id: null } });
    assert.equal((await codexAgent.afterRun!(c, id)).length, 1);
    assert.equal((await codexAgent.afterRun!({ ...c, permission: "acceptEdits" }, id)).length, 0);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("codex inside the OS sandbox: its own (bubblewrap, which does not nest) is off; read-only modes are refused", () => {
  assert.ok(
    buildCodexArgs(inv({ osSandbox: true })).includes('sandbox_mode="danger-full-access"'),
    "dispatch-cc's bubblewrap is the limit",
  );
  assert.throws(
    () => buildCodexArgs(inv({ osSandbox: true, permission: "plan" })),
    (e: Error) => e.name === "UsageError" && /does not nest/.test(e.message),
  );
  // Refusals are then the OS sandbox's.
  const p = codexParser(ctx({ osSandbox: true }));
  const events = p(
    '{"type":"item.completed","item":{"id":"i1","type":"command_execution","command":"bash -lc \'echo x > /etc/z\'",' +
      '"aggregated_output":"bash: /etc/z: Read-only file system\\n","exit_code":1,"status":"failed"}}',
  );
  const d = events.find((e) => e.kind === "denial");
  assert.equal(d?.kind === "denial" && d.denial.source, "sandbox");
});
