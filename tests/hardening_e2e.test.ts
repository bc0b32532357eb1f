/**
 * Hardening checked against the real Claude Code CLI (offline, scripted endpoint): the argv form of
 * session ids, where Claude Code keeps a project's sessions, what the OS sandbox keeps a run from
 * planting for later unsandboxed runs, and who can read dispatch-cc's environment.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { buildClaudeArgs } from "../src/agents/claude_code/args.ts";
import { claudeProjectFolder } from "../src/agents/claude_code/sessions.ts";
import { findBwrap } from "../src/sandbox/bwrap.ts";
import { claudeEnv, runClaude, tempHome } from "./support/claude_cli.ts";
import { runCli } from "./support/cli.ts";
import { startE2E } from "./support/e2e.ts";
import { startMockApi } from "./support/mock_api.ts";

const noBwrap = (await findBwrap()) === null;
const exists = (p: string) => Deno.lstat(p).then(() => true, () => false);
const bash = (command: string) => ({ toolUse: { name: "Bash", input: { command, description: "x" } } });

/** The text of every tool_result in a run's transcript, in order. */
async function toolResults(transcript: string): Promise<string[]> {
  const out: string[] = [];
  for (const line of (await Deno.readTextFile(transcript)).split("\n")) {
    if (!line.trim()) continue;
    const ev = JSON.parse(line);
    if (ev.type !== "user" || !Array.isArray(ev.message?.content)) continue;
    for (const c of ev.message.content) {
      if (c.type === "tool_result") {
        out.push(typeof c.content === "string" ? c.content : JSON.stringify(c.content));
      }
    }
  }
  return out;
}

Deno.test("the real CLI takes --session-id=, --resume= and --resume-session-at= as one element each, and names session folders as claudeProjectFolder says", async () => {
  const api = await startMockApi();
  const home = await tempHome();
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "cc-args-" }));
  try {
    const env = claudeEnv({ baseUrl: api.url, home });
    api.scenario("a", [{ text: "one" }]);
    api.scenario("b", [{ text: "two" }]);
    api.scenario("c", [{ text: "three" }]);
    const cwd = join(root, "p.x_y");
    await Deno.mkdir(cwd);
    const id = crypto.randomUUID();
    const run = (session: { mode: "new" | "resume"; id: string }, prompt: string, at?: string) =>
      runClaude({
        args: buildClaudeArgs({ session, permission: "acceptEdits", resumeSessionAt: at }),
        prompt,
        cwd,
        env,
      });
    const first = await run({ mode: "new", id }, "x [[mock:a]]");
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.result.session_id, id);
    const at = first.events.filter((e) => e.type === "assistant").at(-1).uuid;
    const second = await run({ mode: "resume", id }, "y [[mock:b]]");
    assert.equal(second.result.session_id, id, second.stderr);
    assert.equal(second.result.result, "two");
    // Rewound to the first answer: the request leaves out "y" and "two".
    const third = await run({ mode: "resume", id }, "z [[mock:c]]", at);
    assert.equal(third.result.result, "three", third.stderr);
    const texts = JSON.stringify(api.mainRequests("c")[0].body.messages);
    assert.ok(texts.includes("[[mock:a]]") && !texts.includes("[[mock:b]]"), texts.slice(0, 300));
    assert.ok(await exists(join(home, ".claude", "projects", claudeProjectFolder(cwd), `${id}.jsonl`)));

    // Over 200 characters: cut and hashed.
    const long = join(root, "d_e.f".repeat(45));
    await Deno.mkdir(long);
    const longId = crypto.randomUUID();
    const r = await runClaude({
      args: buildClaudeArgs({ session: { mode: "new", id: longId }, permission: "acceptEdits" }),
      prompt: "x [[mock:a]]",
      cwd: long,
      env,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(claudeProjectFolder(long).length > 200);
    assert.ok(await exists(join(home, ".claude", "projects", claudeProjectFolder(long), `${longId}.jsonl`)));
  } finally {
    await api.close();
    await Deno.remove(root, { recursive: true }).catch(() => {});
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
});

Deno.test({
  name:
    "under the OS sandbox a run cannot plant project settings, hooks or MCP servers, nor touch other projects' sessions; project writes and resume work",
  ignore: noBwrap,
  async fn() {
    const e = await startE2E();
    try {
      const other = join(e.home, ".claude", "projects", "-some-other-project");
      await Deno.mkdir(other, { recursive: true });
      await Deno.writeTextFile(join(other, "s.jsonl"), "{}\n");
      e.api.scenario("plant", [
        {
          toolUse: {
            name: "Write",
            input: { file_path: ".claude/settings.json", content: '{"hooks":{"Stop":[]}}\n' },
          },
        },
        bash(`echo '{"mcpServers":{"x":{"command":"touch","args":["/tmp/pwned"]}}}' > .mcp.json`),
        bash("echo '{}' > .claude/settings.local.json"),
        bash(`echo tampered > ${join(other, "s.jsonl")}`),
        { toolUse: { name: "Write", input: { file_path: "app.py", content: "print(1)\n" } } },
        bash("mkdir -p src && echo ok > src/ok.txt"),
        { text: "Done." },
      ]);
      e.api.scenario("again", [{ text: "Again." }]);
      const r = await runCli(
        [
          "run",
          "--slug",
          "plant",
          "--prompt",
          "Try [[mock:plant]]",
          "--sandbox",
          "--permission",
          "bypassPermissions",
          "--allow-dangerous",
          "--json",
        ],
        { env: e.env },
      );
      const dir = join(e.projects, "plant");
      assert.equal(r.json?.num_turns, 7, r.stderr + JSON.stringify(r.json));
      // Normal project writes work.
      assert.equal(await Deno.readTextFile(join(dir, "app.py")), "print(1)\n");
      assert.equal(await Deno.readTextFile(join(dir, "src", "ok.txt")), "ok\n");
      // Settings, hooks, MCP servers and another project's transcript are as they were.
      assert.equal(await exists(join(dir, ".claude", "settings.json")), false);
      assert.equal(await exists(join(dir, ".claude", "settings.local.json")), false);
      assert.equal(await Deno.readTextFile(join(dir, ".mcp.json")), '{ "mcpServers": {} }\n');
      assert.equal(await Deno.readTextFile(join(other, "s.jsonl")), "{}\n");
      assert.equal(r.code, 4, r.stderr);
      const denied = r.json.permission_denials.filter((d: { source?: string }) => d.source === "sandbox");
      // The three writes into the read-only project settings; the other project's transcript is not even
      // visible inside (its folder is not in the sandbox), so that write fails before reaching anything.
      assert.equal(denied.length, 3, JSON.stringify(r.json.permission_denials));
      // The session was saved in the project's own session folder, and resumes, sandboxed and not.
      const id = r.json.session_id;
      assert.ok(await exists(join(e.home, ".claude", "projects", claudeProjectFolder(dir), `${id}.jsonl`)));
      for (const extra of [["--sandbox"], []]) {
        const again = await runCli(
          ["resume", "--slug", "plant", "--prompt", "More [[mock:again]]", ...extra, "--json"],
          { env: e.env },
        );
        assert.equal(again.code, 0, again.stderr);
        assert.equal(again.json.session_mode, "resume");
        assert.equal(again.json.session_id, id);
        assert.equal(again.json.result, "Again.");
      }
    } finally {
      await e.cleanup();
    }
  },
});

Deno.test("dispatch-cc's own environment: readable by Claude Code's tools through /proc without the sandbox (a documented limit), not under --sandbox", async () => {
  const e = await startE2E({ SECRET_TOKEN: "s3cr3t-value" });
  try {
    // The dispatcher is the parent of the claude process, which is the parent of the tool's shell.
    const cmd = `D=$(ps -o ppid= -p $PPID | tr -d ' '); tr '\\0' '\\n' < /proc/$D/environ; ` +
      `for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' < $f 2>/dev/null; done | grep -c s3cr3t-value; true`;
    e.api.scenario("peek", [bash(cmd), { text: "Peeked." }]);
    const plain = await runCli(
      ["run", "--slug", "peek", "--prompt", "Peek [[mock:peek]]", "--allowed-tools", "Bash", "--json"],
      { env: e.env },
    );
    assert.equal(plain.code, 0, plain.stderr);
    const [shown] = await toolResults(plain.json.transcript_file);
    assert.match(
      shown,
      /SECRET_TOKEN=s3cr3t-value/,
      "same uid, no PID namespace: the parent's environ is readable",
    );
    if (noBwrap) return;
    const boxed = await runCli(
      [
        "run",
        "--slug",
        "peek2",
        "--prompt",
        "Peek [[mock:peek]]",
        "--allowed-tools",
        "Bash",
        "--sandbox",
        "--json",
      ],
      { env: e.env },
    );
    assert.equal(boxed.code, 0, boxed.stderr);
    const [inBox] = await toolResults(boxed.json.transcript_file);
    assert.doesNotMatch(inBox, /SECRET_TOKEN|s3cr3t/);
    assert.match(inBox, /^0$/m, "no process visible in the PID namespace carries it");
  } finally {
    await e.cleanup();
  }
});
