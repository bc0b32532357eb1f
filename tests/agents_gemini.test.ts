/**
 * The Gemini agent without processes: argv, permission mapping, sessions, and the line parser on streams
 * recorded from the real CLI (scripts/record_agent_streams.ts) against the stand-in Gemini API.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { AgentInvocation } from "../src/agents/agent.ts";
import type { AgentEvent, FinalResult } from "../src/agents/events.ts";
import {
  buildGeminiArgs,
  geminiApprovalMode,
  geminiStdin,
  geminiUnsupported,
} from "../src/agents/gemini/args.ts";
import { geminiAgent } from "../src/agents/gemini/agent.ts";
import { geminiParser, geminiStatusFromExit, geminiStatusIn } from "../src/agents/gemini/events.ts";

const FIX = join(import.meta.dirname!, "fixtures", "agents");
const ID = "11111111-2222-4333-8444-555555555555";
const inv = (over: Partial<AgentInvocation> = {}): AgentInvocation => ({
  session: { mode: "new", id: ID },
  permission: "acceptEdits",
  projectDir: "/p",
  protectedPaths: [],
  ...over,
});

async function parse(name: string): Promise<AgentEvent[]> {
  const parser = geminiParser();
  return (await Deno.readTextFile(join(FIX, `gemini-${name}.jsonl`))).split("\n").flatMap(parser);
}
const resultOf = (events: AgentEvent[]): FinalResult | undefined =>
  events.flatMap((e) => e.kind === "result" ? [e.result] : [])[0];
const denialsOf = (events: AgentEvent[]) => events.flatMap((e) => e.kind === "denial" ? [e.denial] : []);

Deno.test("gemini args: headless stream-json, prompt on stdin, project trusted for this run, assigned session", () => {
  assert.deepEqual(buildGeminiArgs(inv()), [
    "-o",
    "stream-json",
    "--skip-trust",
    "--approval-mode",
    "auto_edit",
    `--session-id=${ID}`,
  ]);
  const cmd = geminiAgent.command(inv(), "the prompt");
  assert.equal(cmd.stdin, "the prompt");
  assert.ok(!cmd.args.some((a) => a.includes("the prompt")), "the prompt is never in argv");
  assert.equal(cmd.env.GEMINI_CLI_NO_RELAUNCH, "true");
  assert.ok(buildGeminiArgs(inv({ session: { mode: "resume", id: ID } })).includes(`--resume=${ID}`));
  assert.throws(
    () => buildGeminiArgs(inv({ session: { mode: "resume", id: "latest" } })),
    /not a Gemini session id/,
  );
  assert.throws(
    () => buildGeminiArgs(inv({ session: { mode: "new", id: null } })),
    /not a Gemini session id/,
  );
});

Deno.test("gemini permission mapping and what it cannot honour", () => {
  assert.equal(geminiApprovalMode("plan"), "plan");
  assert.equal(geminiApprovalMode("default"), "default");
  assert.equal(geminiApprovalMode("acceptEdits"), "auto_edit");
  assert.equal(geminiApprovalMode("bypassPermissions"), "yolo");
  assert.match(
    geminiStdin(inv({ appendSystemPrompt: "Be brief." }), "P"),
    /^<system-instructions>\nBe brief\.\n/,
  );
  assert.equal(geminiUnsupported(inv({ maxTurns: 2, maxBudgetUsd: 1 })).length, 2);
});

Deno.test("gemini stream: session from init, a write_file call that wrote its file, final text, this run's tokens", async () => {
  const events = await parse("write");
  assert.equal(events[0].kind, "session");
  const use = events.find((e) => e.kind === "tool_use");
  assert.equal(use?.kind === "tool_use" && use.writes, "a.txt");
  const res = events.find((e) => e.kind === "tool_result");
  assert.ok(res?.kind === "tool_result" && !res.is_error);
  const r = resultOf(events)!;
  assert.equal(r.ok, true);
  assert.equal(r.text, "Wrote a.txt.");
  assert.equal(r.num_turns, 2);
  assert.equal(r.cost_usd, null);
  assert.deepEqual(r.usage, {
    input_tokens: 200,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    output_tokens: 100,
  });
  // Resumed: Gemini's statistics are already this run's own.
  assert.equal(resultOf(await parse("resumed"))!.usage!.input_tokens, 7);
});

Deno.test("gemini stream: plan mode's refusals (policy, a tool not offered) are denials", async () => {
  const d = denialsOf(await parse("plan"));
  assert.deepEqual(d.map((x) => x.tool), ["write_file", "run_shell_command"]);
  assert.equal(d[0].source, undefined);
  assert.match(d[0].reason!, /Plan Mode/);
});

Deno.test("gemini stream: a write outside its workspace is refused by the agent itself", async () => {
  const d = denialsOf(await parse("outside"));
  assert.equal(d.length, 1);
  assert.equal(d[0].source, "agent_sandbox");
  assert.match(d[0].reason!, /not in workspace/i);
});

Deno.test("gemini stream: an API error is a failed result with the API's text and status", async () => {
  const r = resultOf(await parse("api500"))!;
  assert.equal(r.ok, false);
  assert.equal(r.api_error_status, 500);
  assert.match(r.errors[0], /on fire/);
  assert.equal(geminiStatusFromExit(244), 500);
  assert.equal(geminiStatusFromExit(173), 429);
  assert.equal(geminiStatusFromExit(1), null);
  assert.equal(geminiStatusIn("[API Error: slow down]"), null);
});

Deno.test("gemini stream: every line reaches the fold (a second session or result is its to judge); the result names the first session", () => {
  const p = geminiParser();
  const other = "22222222-2222-4333-8444-555555555555";
  assert.deepEqual(p(`{"type":"init","session_id":"${ID}"}`), [{ kind: "session", session_id: ID }]);
  assert.deepEqual(p(`{"type":"init","session_id":"${other}"}`), [{ kind: "session", session_id: other }]);
  const [r] = p('{"type":"result","status":"success","stats":{}}');
  assert.equal(r.kind === "result" && r.result.session_id, ID);
  assert.equal(p('{"type":"result","status":"error","error":{"message":"x"}}')[0].kind, "result");
  assert.deepEqual(p("garbage"), [{ kind: "garbage" }]);
});

Deno.test("gemini sessions: found for this project only, by the id in the chat file", async () => {
  const home = await Deno.makeTempDir();
  try {
    const project = await Deno.makeTempDir({ dir: home });
    const state = join(home, ".gemini");
    await Deno.mkdir(join(state, "tmp", "proj", "chats"), { recursive: true });
    await Deno.writeTextFile(
      join(state, "projects.json"),
      JSON.stringify({ projects: { [project]: "proj" } }),
    );
    await Deno.writeTextFile(
      join(state, "tmp", "proj", "chats", `session-2026-12-07T20-58-${ID.slice(0, 8)}.jsonl`),
      JSON.stringify({ sessionId: ID, kind: "main" }) + "\n",
    );
    const env = { GEMINI_CLI_HOME: home };
    assert.equal(await geminiAgent.sessionExists(env, ID, project), true);
    assert.equal(
      await geminiAgent.sessionExists(env, ID, home),
      false,
      "another folder's sessions are not -r's",
    );
    assert.equal(
      await geminiAgent.sessionExists(env, "11111111-0000-4333-8444-555555555555", project),
      false,
    );
    assert.equal(await geminiAgent.sessionExists(env, "latest", project), false);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("gemini inside the OS sandbox: a write refused in a shell command it calls a success is a denial", () => {
  const line = (o: unknown) => JSON.stringify(o);
  const use = {
    type: "tool_use",
    tool_name: "run_shell_command",
    tool_id: "t1",
    parameters: { command: "echo x > /etc/z" },
  };
  const res = {
    type: "tool_result",
    tool_id: "t1",
    status: "success",
    output: "bash: line 1: /etc/z: Read-only file system",
  };
  const inBox = geminiParser({
    env: {},
    projectDir: "/p",
    permission: "bypassPermissions",
    session: { mode: "new", id: ID },
    osSandbox: true,
  });
  inBox(line(use));
  const d = denialsOf(inBox(line(res)));
  assert.equal(d.length, 1);
  assert.equal(d[0].source, "sandbox");
  // Without the sandbox the same text is the command's own business.
  const plain = geminiParser();
  plain(line(use));
  assert.deepEqual(denialsOf(plain(line(res))), []);
});

Deno.test("gemini stream: its turn limit (settings model.maxSessionTurns) is a max_turns result", async () => {
  const r = resultOf(await parse("turnlimit"))!;
  assert.equal(r.ok, false);
  assert.equal(r.subtype, "error_max_turns");
  assert.match(r.errors[0], /max session turns/);
});

Deno.test("the child environment of another agent: the basics and its own names, none of Claude Code's", async () => {
  const { childEnv } = await import("../src/sandbox/env.ts");
  const parent = {
    PATH: "/bin",
    HOME: "/h",
    LC_ALL: "C",
    HTTPS_PROXY: "p",
    ANTHROPIC_API_KEY: "a",
    CLAUDE_CONFIG_DIR: "/c",
    AWS_PROFILE: "x",
    GEMINI_API_KEY: "g",
    GOOGLE_CLOUD_PROJECT: "proj",
    OPENAI_API_KEY: "o",
    GITHUB_TOKEN: "t",
  };
  const agent = { claude: false, names: geminiAgent.envNames, prefixes: geminiAgent.envPrefixes };
  assert.deepEqual(
    Object.keys(childEnv(parent, { agent })).sort(),
    ["GEMINI_API_KEY", "GOOGLE_CLOUD_PROJECT", "HOME", "HTTPS_PROXY", "LC_ALL", "PATH"],
  );
  // Named with --env, a variable still passes.
  assert.ok("GITHUB_TOKEN" in childEnv(parent, { agent, extraNames: ["GITHUB_TOKEN"] }));
});
