/**
 * The integrity rules per agent, on streams recorded from the real Codex and Gemini CLIs
 * (tests/fixtures/agents/) folded by the agent-neutral fold and classification, and on those streams as a
 * tool of the agent could extend them (it runs as the same user and can write to the CLI's stdout).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Agent } from "../src/agents/agent.ts";
import { codexAgent } from "../src/agents/codex/agent.ts";
import { geminiAgent } from "../src/agents/gemini/agent.ts";
import { classify } from "../src/runner/classify.ts";
import { foldLines } from "../src/runner/fold.ts";

const dir = join(import.meta.dirname!, "fixtures", "agents");
const read = (name: string) => Deno.readTextFileSync(join(dir, name));
const exit0 = { ended: "exit" as const, exitCode: 0, signal: null, stderrTail: "" };

interface Case {
  agent: Agent;
  write: string;
  denied: string;
  permission: "plan" | "acceptEdits";
  sessionOf: (text: string) => string;
  /** A forged final line claiming success. */
  forgedSuccess: (session: string) => string;
  /** A forged session line naming another session. */
  forgedSession: (session: string) => string;
}

const CASES: Case[] = [
  {
    agent: codexAgent,
    write: "codex-write.jsonl",
    denied: "codex-outside.jsonl",
    permission: "acceptEdits",
    sessionOf: (t) => JSON.parse(t.split("\n")[0]).thread_id,
    forgedSuccess: () =>
      JSON.stringify({ type: "turn.completed", usage: { input_tokens: 1, output_tokens: 1 } }),
    forgedSession: (s) => JSON.stringify({ type: "thread.started", thread_id: s }),
  },
  {
    agent: geminiAgent,
    write: "gemini-write.jsonl",
    denied: "gemini-plan.jsonl",
    permission: "plan",
    sessionOf: (t) => JSON.parse(t.split("\n")[0]).session_id,
    forgedSuccess: () => JSON.stringify({ type: "result", status: "success", stats: {} }),
    forgedSession: (s) => JSON.stringify({ type: "init", session_id: s, model: "x" }),
  },
];

const STOLEN = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";

for (const c of CASES) {
  const name = c.agent.name;
  const parser = () =>
    c.agent.parser({
      env: {},
      projectDir: "/p",
      permission: c.permission,
      session: { mode: "new", id: null },
    });

  Deno.test(`${name}: a recorded run folds to one result and success; a recorded refusal is blocked`, () => {
    const text = read(c.write);
    const o = classify({ fold: foldLines(parser(), text), ...exit0, session: c.sessionOf(text) });
    assert.equal(o.status, "success");
    assert.deepEqual(o.integrity_problems, []);
    const denied = read(c.denied);
    const b = classify({ fold: foldLines(parser(), denied), ...exit0, session: c.sessionOf(denied) });
    assert.equal(b.status, "blocked");
    assert.ok(b.permission_denials.length >= 1);
  });

  Deno.test(`${name}: a forged success appended after a denied run is tampered; the denial still counts`, () => {
    const text = read(c.denied);
    const fold = foldLines(parser(), text + c.forgedSuccess(c.sessionOf(text)) + "\n");
    const o = classify({ fold, ...exit0, session: c.sessionOf(text) });
    assert.equal(o.status, "tampered");
    assert.ok(o.permission_denials.length >= 1);
  });

  Deno.test(`${name}: a line naming another session is tampered, and the saved session stays the first`, () => {
    const text = read(c.write);
    const lines = text.trim().split("\n");
    const stream = [lines[0], c.forgedSession(STOLEN), ...lines.slice(1)].join("\n");
    const fold = foldLines(parser(), stream);
    assert.equal(fold.sessions[0], c.sessionOf(text));
    assert.equal(fold.results[0].session_id, c.sessionOf(text));
    const o = classify({ fold, ...exit0, session: c.sessionOf(text) });
    assert.equal(o.status, "tampered");
    assert.ok(o.integrity_problems.some((p) => p.includes(STOLEN)));
  });

  Deno.test(`${name}: any line after the final result makes the outcome untrusted`, () => {
    const text = read(c.write);
    const o = classify({ fold: foldLines(parser(), text + "hello\n"), ...exit0, session: c.sessionOf(text) });
    assert.equal(o.status, "tampered");
  });
}

Deno.test("gemini: a run stopped at its turn limit is max_turns (exit 6)", () => {
  const text = read("gemini-turnlimit.jsonl");
  const fold = foldLines(geminiAgent.parser(), text);
  const o = classify({ ...exit0, exitCode: 53, fold, session: JSON.parse(text.split("\n")[0]).session_id });
  assert.equal(o.status, "max_turns");
  assert.equal(o.exit_code, 6);
});
