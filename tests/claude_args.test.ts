import assert from "node:assert/strict";
import { join } from "node:path";
import { buildClaudeArgs } from "../src/agents/claude_code/args.ts";
import { claudeProjectFolder, findSessionFolder, sessionExists } from "../src/agents/claude_code/sessions.ts";

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
    "--session-id=11111111-2222-3333-4444-555555555555",
  ]);
});

Deno.test("resume uses --resume and every option maps to its Claude Code flag", () => {
  const args = buildClaudeArgs({
    session: { mode: "resume", id: "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee" },
    permission: "plan",
    model: "sonnet",
    maxTurns: 7,
    maxBudgetUsd: 1.5,
    appendSystemPrompt: "be brief",
    allowedTools: ["Read", "Bash(npm test:*)"],
    disallowedTools: ["WebFetch"],
  });
  assert.deepEqual(args.slice(6), [
    "--resume=aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
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
  const args = buildClaudeArgs({
    session: { mode: "new", id: crypto.randomUUID() },
    permission: "acceptEdits",
  });
  assert.ok(args.every((a) => a.length < 1000));
});

Deno.test("session ids and the resume point are single --flag=value elements, and must be UUIDs", () => {
  const id = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
  const at = "12345678-9abc-4def-8123-456789abcdef";
  const args = buildClaudeArgs({ session: { mode: "resume", id }, permission: "plan", resumeSessionAt: at });
  assert.deepEqual(args.slice(6), [`--resume=${id}`, `--resume-session-at=${at}`]);
  // What a run could have written into a file dispatch-cc reads back: a flag, a session title, a path.
  for (const bad of ["--help", "my old session", "../../etc/x", `${id} --dangerously-skip-permissions`, ""]) {
    assert.throws(
      () => buildClaudeArgs({ session: { mode: "resume", id: bad }, permission: "plan" }),
      /session id/,
    );
    assert.throws(
      () => buildClaudeArgs({ session: { mode: "new", id: bad }, permission: "plan" }),
      /session id/,
    );
    assert.throws(
      () =>
        buildClaudeArgs({ session: { mode: "resume", id }, permission: "plan", resumeSessionAt: bad || "x" }),
      /uuid/,
    );
  }
  // --dry-run's placeholders still render.
  assert.ok(
    buildClaudeArgs({ session: { mode: "new", id: "<new-session-id>" }, permission: "plan" })
      .includes("--session-id=<new-session-id>"),
  );
});

Deno.test("sessionExists never joins a non-UUID into a path", async () => {
  const home = await Deno.makeTempDir();
  try {
    const folder = join(home, ".claude", "projects", "-p");
    await Deno.mkdir(folder, { recursive: true });
    const id = crypto.randomUUID();
    await Deno.writeTextFile(
      join(folder, `${id}.jsonl`),
      JSON.stringify({ type: "user", sessionId: id }) + "\n",
    );
    // A file a crafted "id" would reach by path traversal: <folder>/../../x.jsonl.
    await Deno.writeTextFile(join(home, ".claude", "x.jsonl"), "{}\n");
    assert.equal(await sessionExists({ HOME: home }, id), true);
    // A transcript without a conversation entry of this session cannot be resumed (Claude Code: exit 1).
    const damaged = crypto.randomUUID();
    await Deno.writeTextFile(join(folder, `${damaged}.jsonl`), "{}\nnot json\n");
    assert.equal(await sessionExists({ HOME: home }, damaged), false);
    assert.equal(await findSessionFolder({ HOME: home }, id), folder);
    assert.equal(await sessionExists({ HOME: home }, "../../x"), false);
    assert.equal(await sessionExists({ HOME: home }, crypto.randomUUID()), false);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("Claude Code's session folder name: non-alphanumerics become '-', over 200 characters a hash", () => {
  assert.equal(claudeProjectFolder("/home/me/p.x_y"), "-home-me-p-x-y");
  const long = "/tmp/a8d94d5b3166df94/" + "a_b.c".repeat(60);
  const name = claudeProjectFolder(long);
  assert.equal(name.length, 207);
  assert.equal(name.slice(0, 200), long.replace(/[^a-zA-Z0-9]/g, "-").slice(0, 200));
  // Seen with Claude Code 2.1.328 for these two paths (tests/hardening_e2e.test.ts checks the rule live).
  assert.equal(claudeProjectFolder(long.slice(0, 201)).slice(201), "5am9sx");
  assert.equal(claudeProjectFolder(long.slice(0, 230)).slice(201), "eas5ip");
});
