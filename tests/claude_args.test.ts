import assert from "node:assert/strict";
import { buildClaudeArgs } from "../src/runner/claude_code.ts";

Deno.test("a new session pre-assigns its id and streams JSON, with no prompt in argv", () => {
  const args = buildClaudeArgs({
    session: { mode: "new", id: "11111111-2222-3333-4444-555555555555" },
    permission: "acceptEdits",
  });
  assert.deepEqual(args, [
    "-p",
    "--output-format",
    "stream-json",
    "--verbose",
    "--permission-mode",
    "acceptEdits",
    "--session-id",
    "11111111-2222-3333-4444-555555555555",
  ]);
});

Deno.test("resume uses --resume and every option maps to its Claude Code flag", () => {
  const args = buildClaudeArgs({
    session: { mode: "resume", id: "abc" },
    permission: "plan",
    model: "sonnet",
    maxTurns: 7,
    maxBudgetUsd: 1.5,
    appendSystemPrompt: "be brief",
    allowedTools: ["Read", "Bash(npm test:*)"],
    disallowedTools: ["WebFetch"],
  });
  assert.deepEqual(args.slice(6), [
    "--resume",
    "abc",
    "--model",
    "sonnet",
    "--max-turns",
    "7",
    "--max-budget-usd",
    "1.5",
    "--append-system-prompt",
    "be brief",
    "--allowedTools",
    "Read",
    "--allowedTools",
    "Bash(npm test:*)",
    "--disallowedTools",
    "WebFetch",
  ]);
  assert.equal(args[5], "plan");
});

Deno.test("a 2 MB prompt never reaches argv", () => {
  const args = buildClaudeArgs({ session: { mode: "new", id: "x" }, permission: "acceptEdits" });
  assert.ok(args.every((a) => a.length < 1000));
});
