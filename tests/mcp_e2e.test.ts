/**
 * `dispatch-cc mcp` end to end: the MCP SDK's own client over stdio, spawning the server as users do
 * (`deno run -P=dispatch ... src/main.ts mcp`), the real Claude Code CLI against the scripted endpoint
 * behind it. Runs that must outlast a call wait on a gate file the test opens, so nothing depends on time.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { cliCommand, REPO, runCli } from "./support/cli.ts";
import { type E2E, startE2E } from "./support/e2e.ts";
import { claudeEnv, runClaude } from "./support/claude_cli.ts";

const TOOLS = [
  "run",
  "resume",
  "review",
  "apply",
  "wait",
  "status",
  "list",
  "search",
  "logs",
  "cancel",
  "history",
  "validate",
];
const LONG = { timeout: 300_000 };
const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

async function connect(e: E2E, serverArgs: string[] = []): Promise<Client> {
  const c = cliCommand();
  const transport = new StdioClientTransport({
    command: c.cmd,
    args: [...c.args, "mcp", ...serverArgs],
    env: e.env,
    cwd: REPO,
    stderr: "ignore",
  });
  const client = new Client({ name: "dispatch-cc-test", version: "1.0.0" });
  await client.connect(transport);
  return client;
}

// deno-lint-ignore no-explicit-any
type Any = any;

/** A Bash step that blocks until the test creates `gate`. */
const gated = (gate: string) => ({
  toolUse: {
    name: "Bash",
    input: { command: `while [ ! -e ${gate} ]; do sleep 0.1; done; echo opened`, description: "gate" },
  },
});

Deno.test("mcp lists one tool per command with input and output schemas from the command's options", async () => {
  const e = await startE2E();
  const client = await connect(e);
  try {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t: Any) => t.name).sort(), [...TOOLS].sort());
    for (const t of tools) {
      assert.equal(t.outputSchema?.type, "object", `${t.name} has an output schema`);
      assert.ok((t.description ?? "").length > 40, `${t.name} is described`);
    }
    const run = tools.find((t: Any) => t.name === "run")!;
    const props = run.inputSchema.properties as Record<string, Any>;
    for (
      const k of ["slug", "agent", "prompt", "desc", "timeout", "permission", "model", "max_turns", "wait_s"]
    ) {
      assert.ok(props[k], `run takes ${k}`);
    }
    assert.equal(props.allowed_tools.type, "array");
    assert.equal(props.max_turns.type, "number");
    assert.equal(props.wait_for_lock.type, "boolean");
    assert.deepEqual(run.inputSchema.required, ["slug"]);
    for (const k of ["json", "detach", "verbose", "quiet", "help", "wait"]) {
      assert.equal(props[k], undefined, k);
    }
    // Nothing a model sends can widen what the person set up.
    for (const k of ["allow_dangerous", "no_sandbox", "claude_sandbox", "env", "prompt_file"]) {
      assert.equal(props[k], undefined, k);
    }
    assert.equal(run.inputSchema.additionalProperties, false);
    const wait = tools.find((t: Any) => t.name === "wait")!;
    const w = wait.inputSchema.properties as Record<string, Any>;
    assert.ok(w.run_id && w.wait_s && w.slug);
    assert.equal(w.timeout, undefined);
    const apply = tools.find((t: Any) => t.name === "apply")!;
    assert.equal((apply.inputSchema.properties as Any).files.type, "array");
    assert.equal((apply.inputSchema.properties as Any).set, undefined);
    assert.equal((apply.inputSchema.properties as Any).allow_env, undefined);
  } finally {
    await client.close();
    await e.cleanup();
  }
});

Deno.test("mcp run that ends within wait_s returns the run's --json document as structured content and text", async () => {
  const e = await startE2E();
  const client = await connect(e);
  try {
    e.api.scenario("quick", [
      { toolUse: { name: "Write", input: { file_path: "a.txt", content: "A\n" } } },
      { text: "Wrote a.txt." },
    ]);
    const r: Any = await client.callTool(
      { name: "run", arguments: { slug: "quick", prompt: "Write a.txt [[mock:quick]]", wait_s: 240 } },
      undefined,
      LONG,
    );
    assert.equal(r.isError, undefined, JSON.stringify(r.content));
    const doc = r.structuredContent;
    assert.equal(doc.status, "success");
    assert.equal(doc.result, "Wrote a.txt.");
    assert.equal(doc.command, "run");
    assert.deepEqual(JSON.parse(r.content[0].text), doc, "the text is the same JSON");
    assert.equal(await Deno.readTextFile(join(e.projects, "quick", "a.txt")), "A\n");
    // The same document the command line prints for that run.
    const cli = await runCli(["wait", "--slug", "quick", "--json"], { env: e.env });
    assert.deepEqual(doc, cli.json);
    // Other tools: the documents their commands print.
    const status: Any = await client.callTool({ name: "status", arguments: { slug: "quick" } });
    const cliStatus = await runCli(["status", "--slug", "quick", "--json"], { env: e.env });
    assert.deepEqual(status.structuredContent, cliStatus.json);
    const list: Any = await client.callTool({ name: "list", arguments: {} });
    assert.deepEqual(list.structuredContent.projects.map((p: Any) => p.slug), ["quick"]);
    const logs: Any = await client.callTool({ name: "logs", arguments: { slug: "quick" } });
    assert.ok(logs.structuredContent.lines.some((l: string) => /-> Write .*a\.txt/.test(l)));
    assert.equal(logs.structuredContent.run_id, doc.run_id);
  } finally {
    await client.close();
    await e.cleanup();
  }
});

Deno.test("mcp usage errors, unknown projects and refusals are tool errors with one line; nothing is written", async () => {
  const e = await startE2E();
  const client = await connect(e);
  try {
    const cases: [string, Record<string, unknown>, RegExp, string][] = [
      ["run", { slug: "x" }, /^missing prompt/, "usage"],
      ["run", { slug: "../up", prompt: "hi" }, /slug/, "usage"],
      ["run", { slug: "x", prompt: "hi", timeout: -5 }, /timeout/, "usage"],
      ["run", { slug: "x", prompt: "hi", permission: "bypassPermissions" }, /ceiling|DISPATCH_MAX/, "usage"],
      ["status", { slug: "nope" }, /no project "nope"/, "not_found"],
      ["wait", { slug: "nope" }, /no project "nope"/, "not_found"],
      ["resume", { slug: "nope", prompt: "go on" }, /no project "nope"/, "not_found"],
      ["logs", { slug: "nope" }, /no project "nope"/, "not_found"],
      ["history", { slug: "nope" }, /no project "nope"/, "not_found"],
      ["cancel", { slug: "nope" }, /no project "nope"/, "not_found"],
      ["wait", { slug: "a/b" }, /slug/, "usage"],
      ["search", { keyword: " " }, /one keyword/, "usage"],
    ];
    for (const [name, args, message, kind] of cases) {
      const r: Any = await client.callTool({ name, arguments: args });
      assert.equal(r.isError, true, `${name} ${JSON.stringify(args)}: ${JSON.stringify(r)}`);
      assert.equal(r.content.length, 1);
      assert.match(r.content[0].text, message);
      assert.equal(r.content[0].text.includes("\n"), false, "one line");
      assert.equal(
        r.structuredContent?.error?.kind,
        kind,
        `${name} ${JSON.stringify(args)}: ${r.content[0].text}`,
      );
      assert.equal(r.structuredContent.status, "failed");
    }
    // An input the tool does not take, such as a way around the ceiling, is refused, not ignored.
    const widened: Any = await client.callTool({
      name: "run",
      arguments: { slug: "x", prompt: "hi", permission: "bypassPermissions", allow_dangerous: true },
    });
    assert.equal(widened.isError, true);
    assert.match(widened.content[0].text, /allow_dangerous/);
    // A completion hook would run the model's command outside every sandbox: not an input either.
    const hook: Any = await client.callTool({
      name: "run",
      arguments: { slug: "x", prompt: "hi", on_done: "touch /tmp/pwned-by-mcp" },
    });
    assert.equal(hook.isError, true);
    assert.match(hook.content[0].text, /on_done/);
    const leave: Any = await client.callTool({
      name: "apply",
      arguments: { files: ["t.yaml"], allow_commands: true },
    });
    assert.equal(leave.isError, true);
    assert.match(leave.content[0].text, /allow_commands/);
    assert.equal(await exists(e.projects), false, "no project folder was created");
    assert.equal(e.api.requests.length, 0, "Claude Code never ran");
  } finally {
    await client.close();
    await e.cleanup();
  }
});

Deno.test("mcp repo reaches only the repositories the person allowed when starting the server", async () => {
  const e = await startE2E();
  const repos = await Deno.makeTempDir({ prefix: "mcp-repos-" });
  const allowed = join(repos, "allowed");
  const secret = join(repos, "private");
  const git = (cwd: string, ...args: string[]) =>
    new Deno.Command("git", { args, cwd, stdout: "null", stderr: "null" }).output();
  await Deno.mkdir(allowed);
  await Deno.mkdir(secret);
  await git(secret, "init", "-q");
  await Deno.writeTextFile(join(secret, "key.txt"), "secret\n");
  await git(secret, "add", "key.txt");
  await git(secret, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "key");
  const plain = await connect(e);
  const limited = await connect(e, ["--allow-repo", allowed]);
  try {
    const none: Any = await plain.callTool({
      name: "run",
      arguments: { slug: "r", prompt: "hi", repo: secret },
    });
    assert.equal(none.isError, true, JSON.stringify(none));
    assert.match(none.content[0].text, /not allowed over MCP.*--allow-repo/);
    const outside: Any = await limited.callTool({
      name: "run",
      arguments: { slug: "r", prompt: "hi", repo: secret },
    });
    assert.equal(outside.isError, true, JSON.stringify(outside));
    assert.match(outside.content[0].text, /outside the folders this server allows/);
    assert.equal(outside.structuredContent.error.kind, "usage");
    assert.equal(await exists(e.projects), false, "no project folder was created");
    const branches = await new Deno.Command("git", { args: ["branch"], cwd: secret }).output();
    assert.equal(new TextDecoder().decode(branches.stdout).includes("dispatch/"), false, "no branch made");
    assert.equal(e.api.requests.length, 0, "Claude Code never ran");
  } finally {
    await plain.close();
    await limited.close();
    await e.cleanup();
    await Deno.remove(repos, { recursive: true });
  }
});

Deno.test("mcp run outlasting wait_s returns running; a cancelled wait leaves the run going; wait picks it up", async () => {
  const e = await startE2E();
  const client = await connect(e);
  const gate = join(e.root, "gate");
  try {
    e.api.scenario("pre", [{ text: "Earlier run." }]);
    e.api.scenario("slow", [gated(gate), { text: "Through the gate." }]);
    const pre: Any = await client.callTool(
      { name: "run", arguments: { slug: "slow", prompt: "First [[mock:pre]]", wait_s: 240 } },
      undefined,
      LONG,
    );
    assert.equal(pre.structuredContent.status, "success");
    const started: Any = await client.callTool(
      {
        name: "run",
        arguments: { slug: "slow", prompt: "Go [[mock:slow]]", allowed_tools: ["Bash"], wait_s: 0 },
      },
      undefined,
      LONG,
    );
    assert.equal(started.isError, undefined, JSON.stringify(started.content));
    const running = started.structuredContent;
    assert.ok(["starting", "running"].includes(running.status), running.status);
    assert.match(running.run_id, /^\d{8}-\d{6}-\d+$/);
    assert.equal(running.slug, "slow");

    // A wait with a progress token: progress arrives while it waits; the client then cancels the call.
    const cancel = new AbortController();
    const messages: string[] = [];
    const waiting = client.callTool(
      { name: "wait", arguments: { slug: "slow", run_id: running.run_id } },
      undefined,
      {
        ...LONG,
        signal: cancel.signal,
        onprogress: (p: Any) => {
          messages.push(p.message ?? "");
          if ((p.message ?? "").includes("Bash")) cancel.abort("enough");
        },
      },
    );
    await assert.rejects(waiting);
    assert.ok(messages.some((m) => /Bash while \[ ! -e/.test(m)), messages.join("\n"));
    // The run goes on: its record says so and the gate's Bash call is still waiting.
    const rec = JSON.parse(await Deno.readTextFile(running.record_file));
    assert.equal(rec.status, "running");
    const still: Any = await client.callTool({ name: "wait", arguments: { slug: "slow", wait_s: 0 } });
    assert.equal(still.structuredContent.status, "running");
    assert.equal(still.structuredContent.run_id, running.run_id);

    // wait for a run that has ended answers at once with that run, while another goes on.
    const earlier: Any = await client.callTool(
      { name: "wait", arguments: { slug: "slow", run_id: pre.structuredContent.run_id, wait_s: 30 } },
      undefined,
      LONG,
    );
    assert.equal(earlier.structuredContent.run_id, pre.structuredContent.run_id);
    assert.equal(earlier.structuredContent.result, "Earlier run.");
    const unknown: Any = await client.callTool({
      name: "wait",
      arguments: { slug: "slow", run_id: "20200101-000000-1" },
    });
    assert.equal(unknown.isError, true);
    assert.match(unknown.content[0].text, /no run 20200101-000000-1 in slow/);

    await Deno.writeTextFile(gate, "");
    const done: Any = await client.callTool(
      { name: "wait", arguments: { slug: "slow", run_id: running.run_id, wait_s: 240 } },
      undefined,
      LONG,
    );
    assert.equal(done.structuredContent.status, "success", JSON.stringify(done.structuredContent));
    assert.equal(done.structuredContent.run_id, running.run_id);
    assert.equal(done.structuredContent.result, "Through the gate.");
    assert.equal(done.structuredContent.detached, true);
  } finally {
    await Deno.writeTextFile(gate, "").catch(() => {});
    await client.close();
    await e.cleanup();
  }
});

Deno.test("mcp run with a progress token sends what --progress shows while it waits, then the result", async () => {
  const e = await startE2E();
  const client = await connect(e);
  const gate = join(e.root, "gate");
  try {
    e.api.scenario("prog", [gated(gate), { text: "Progress seen." }]);
    const messages: string[] = [];
    const values: number[] = [];
    const r: Any = await client.callTool(
      {
        name: "run",
        arguments: { slug: "prog", prompt: "Go [[mock:prog]]", allowed_tools: ["Bash"], wait_s: 240 },
      },
      undefined,
      {
        ...LONG,
        onprogress: (p: Any) => {
          messages.push(p.message ?? "");
          values.push(p.progress);
          // The run waits at the gate until its tool call has been reported.
          if ((p.message ?? "").includes("Bash")) Deno.writeTextFileSync(gate, "");
        },
      },
    );
    assert.equal(r.structuredContent.status, "success", JSON.stringify(r.structuredContent));
    assert.equal(r.structuredContent.result, "Progress seen.");
    assert.ok(messages.some((m) => /session [0-9a-f-]{36} started/.test(m)), messages.join("\n"));
    assert.ok(messages.some((m) => /Bash while/.test(m)), messages.join("\n"));
    assert.ok(values.every((v, i) => i === 0 || v > values[i - 1]), `progress only grows: ${values}`);
    // No token, no progress: a call without onprogress gets none (the SDK would reject unknown tokens).
    const again: Any = await client.callTool({ name: "status", arguments: { slug: "prog" } });
    assert.equal(again.isError, undefined);
  } finally {
    await Deno.writeTextFile(gate, "").catch(() => {});
    await client.close();
    await e.cleanup();
  }
});

Deno.test("Claude Code as the MCP client: the outer session calls mcp__dispatch__run, the inner dispatch runs, its result comes back", async () => {
  const e = await startE2E();
  const work = await Deno.makeTempDir({ dir: e.root, prefix: "outer-" });
  try {
    // Outer and inner sessions share the endpoint; each prompt's marker says which is which.
    e.api.scenario("outer", [
      {
        toolUse: {
          name: "mcp__dispatch__run",
          input: { slug: "inner", prompt: "Write the notes [[mock:inner]]", wait_s: 240 },
        },
      },
      { text: "The specialist finished: notes written." },
    ]);
    e.api.scenario("inner", [
      { toolUse: { name: "Write", input: { file_path: "notes.md", content: "# Notes\n" } } },
      { text: "Inner: notes.md written." },
    ]);
    const c = cliCommand();
    const config = join(e.root, "mcp.json");
    await Deno.writeTextFile(
      config,
      JSON.stringify({ mcpServers: { dispatch: { command: c.cmd, args: [...c.args, "mcp"], env: e.env } } }),
    );
    const outer = await runClaude({
      bin: e.bin,
      args: [
        "-p",
        "--output-format",
        "stream-json",
        "--verbose",
        "--mcp-config",
        config,
        "--strict-mcp-config",
        "--allowedTools",
        "mcp__dispatch__run",
      ],
      prompt: "Delegate the notes [[mock:outer]]",
      cwd: work,
      env: claudeEnv({ baseUrl: e.api.url, home: e.home, extra: { MCP_TIMEOUT: "60000" } }),
      timeoutMs: 240_000,
    });
    assert.equal(outer.code, 0, outer.stderr + outer.stdout.slice(-2000));
    assert.equal(outer.result?.is_error, false, JSON.stringify(outer.result));
    assert.equal(outer.result?.result, "The specialist finished: notes written.");
    // The inner dispatch ran in its project, through dispatch-cc.
    assert.equal(await Deno.readTextFile(join(e.projects, "inner", "notes.md")), "# Notes\n");
    assert.equal(e.api.mainRequests("inner").length, 2);
    // The outer session's second turn carried the tool result: the run's document.
    const second = e.api.mainRequests("outer")[1];
    const results = second.body.messages.flatMap((m: Any) => Array.isArray(m.content) ? m.content : [])
      .filter((b: Any) => b.type === "tool_result");
    const text = JSON.stringify(results.at(-1));
    assert.match(text, /Inner: notes\.md written\./);
    assert.match(text, /\\"status\\": ?\\"success\\"/);
  } finally {
    await e.cleanup();
  }
});

Deno.test("mcp apply runs task files in the background and returns each project's last run; validate reports problems", async () => {
  const e = await startE2E();
  const client = await connect(e);
  try {
    e.api.scenario("ta", [{ text: "Task A done." }]);
    e.api.scenario("tb", [{ text: "Task B done." }]);
    const file = join(e.root, "tasks.yaml");
    await Deno.writeTextFile(file, "slug: ta\nprompt: A [[mock:ta]]\n---\nslug: tb\nprompt: B [[mock:tb]]\n");
    const bad = join(e.root, "bad.yaml");
    await Deno.writeTextFile(bad, "slug: ok\nprompt: x\nmax_turns: many\n");
    const v: Any = await client.callTool({ name: "validate", arguments: { files: [bad] } });
    assert.equal(v.structuredContent.ok, false);
    assert.match(v.structuredContent.problems[0].message, /max_turns/);
    const refused: Any = await client.callTool({ name: "apply", arguments: { files: [bad] } });
    assert.equal(refused.isError, true);
    assert.equal(refused.structuredContent.ok, false);
    assert.equal(await exists(join(e.projects, "ok")), false, "nothing ran");

    const r: Any = await client.callTool(
      { name: "apply", arguments: { files: [file], parallel: 2, wait_s: 240 } },
      undefined,
      LONG,
    );
    assert.equal(r.isError, undefined, JSON.stringify(r.content));
    const doc = r.structuredContent;
    assert.equal(doc.status, "ended");
    assert.equal(doc.exit_code, 0);
    assert.deepEqual(doc.slugs.map((s: Any) => [s.slug, s.status, s.result]), [
      ["ta", "success", "Task A done."],
      ["tb", "success", "Task B done."],
    ]);
  } finally {
    await client.close();
    await e.cleanup();
  }
});
