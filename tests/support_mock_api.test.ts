/**
 * Proves the offline harness: the real Claude Code CLI (no dispatch-cc) against the scripted mock API.
 * Independent CLI runs are started at once and asserted in steps.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  claudeEnv,
  type ClaudeRunResult,
  ensureClaudeCli,
  runClaude,
  tempHome,
} from "./support/claude_cli.ts";
import { type MockApi, selectScenario, startMockApi } from "./support/mock_api.ts";

const STREAM_ARGS = ["-p", "--output-format", "stream-json", "--verbose"];

interface Run {
  home: string;
  project: string;
  sessionId: string;
  result: ClaudeRunResult;
}

async function cli(
  api: MockApi,
  bin: string,
  prompt: string,
  opts: { mode?: string; resume?: string; home?: string; project?: string } = {},
): Promise<Run> {
  const home = opts.home ?? await tempHome();
  const project = opts.project ?? await Deno.makeTempDir({ prefix: "cc-proj-" });
  const sessionId = opts.resume ?? crypto.randomUUID();
  const result = await runClaude({
    bin,
    args: [
      ...STREAM_ARGS,
      "--permission-mode",
      opts.mode ?? "acceptEdits",
      ...(opts.resume ? ["--resume", opts.resume] : ["--session-id", sessionId]),
    ],
    prompt,
    cwd: project,
    env: claudeEnv({ baseUrl: api.url, home }),
  });
  return { home, project, sessionId, result };
}

function describe(r: ClaudeRunResult): string {
  return `exit ${r.code}\nstderr: ${r.stderr}\nstdout:\n${r.stdout.slice(0, 4000)}`;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("selectScenario: last marked user message, assistant messages after it", () => {
  assert.equal(selectScenario([{ role: "user", content: "no marker" }]), undefined);
  assert.deepEqual(
    selectScenario([{ role: "user", content: "go [[mock:a]]" }, { role: "system", content: "x" }]),
    {
      scenario: "a",
      step: 0,
    },
  );
  const convo = [
    {
      role: "user",
      content: [{ type: "text", text: "<reminder>" }, { type: "text", text: "go [[mock:a]]" }],
    },
    { role: "assistant", content: [{ type: "tool_use", id: "t1", name: "Bash", input: {} }] },
    // A tool result that mentions a marker must not select a scenario.
    { role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: "[[mock:evil]]" }] },
    { role: "assistant", content: [{ type: "text", text: "ok" }] },
  ];
  assert.deepEqual(selectScenario(convo), { scenario: "a", step: 2 });
  assert.deepEqual(selectScenario([...convo, { role: "user", content: "more [[mock:b]]" }]), {
    scenario: "b",
    step: 0,
  });
});

Deno.test("mock API: side calls, non-streaming, errors, count_tokens", async () => {
  const api = await startMockApi();
  try {
    api.scenario("s", [{ toolUse: { name: "Bash", input: { command: "ls" } } }, { text: "fin" }]);
    // Side call (no tools): short answer, never the scenario, main:false.
    const side = await fetch(`${api.url}/v1/messages`, {
      method: "POST",
      body: JSON.stringify({
        model: "m",
        max_tokens: 10,
        messages: [{ role: "user", content: "[[mock:s]]" }],
      }),
    });
    const sideJson = await side.json();
    assert.equal(sideJson.type, "message");
    assert.equal(sideJson.content[0].type, "text");
    assert.equal(api.requests.at(-1)!.main, false);

    // Main turn, non-streaming: JSON message with the tool_use of step 0.
    const tools = [{ name: "Bash", input_schema: { type: "object" } }];
    const main = await fetch(`${api.url}/v1/messages?beta=true`, {
      method: "POST",
      body: JSON.stringify({
        model: "m",
        max_tokens: 10,
        tools,
        messages: [{ role: "user", content: "[[mock:s]]" }],
      }),
    });
    const mainJson = await main.json();
    assert.equal(mainJson.stop_reason, "tool_use");
    assert.equal(mainJson.content[0].name, "Bash");
    assert.deepEqual(mainJson.usage.input_tokens, 100);
    const rec = api.requests.at(-1)!;
    assert.equal(rec.main, true);
    assert.equal(rec.scenario, "s");
    assert.equal(rec.step, 0);

    // Streaming: SSE with the whole event sequence.
    const sse = await (await fetch(`${api.url}/v1/messages`, {
      method: "POST",
      body: JSON.stringify({
        model: "m",
        max_tokens: 10,
        stream: true,
        tools,
        messages: [{ role: "user", content: "[[mock:s]]" }, { role: "assistant", content: "x" }],
      }),
    })).text();
    const events = [...sse.matchAll(/^event: (\S+)$/gm)].map((m) => m[1]);
    assert.deepEqual(events, [
      "message_start",
      "ping",
      "content_block_start",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    assert.match(sse, /"stop_reason":"end_turn"/);

    const ct = await (await fetch(`${api.url}/v1/messages/count_tokens`, { method: "POST", body: "{}" }))
      .json();
    assert.equal(typeof ct.input_tokens, "number");
    const nf = await fetch(`${api.url}/nope`);
    assert.equal(nf.status, 404);
    await nf.body?.cancel();
  } finally {
    await api.close();
  }
});

Deno.test("mock API: close() while a delayed response is pending leaks nothing", async () => {
  const api = await startMockApi();
  api.scenario("slow", [{ delayMs: 60_000, text: "never" }]);
  const started = performance.now();
  const pending = fetch(`${api.url}/v1/messages`, {
    method: "POST",
    body: JSON.stringify({
      model: "m",
      max_tokens: 10,
      tools: [{ name: "X", input_schema: { type: "object" } }],
      messages: [{ role: "user", content: "[[mock:slow]]" }],
    }),
  }).then(async (r) => {
    await r.body?.cancel();
    return r.status;
  }, () => -1);
  while (api.requests.length === 0) await new Promise((r) => setTimeout(r, 10));
  await api.close();
  await pending;
  // The pending response was cut short, not waited out.
  assert.ok(performance.now() - started < 20_000);
});

Deno.test("real Claude Code CLI through the mock API", async (t) => {
  const bin = await ensureClaudeCli();
  const version = await new Deno.Command(bin, { args: ["--version"], stdout: "piped", stderr: "null" })
    .output();
  assert.match(new TextDecoder().decode(version.stdout), /^2\.1\.328 /);

  const api = await startMockApi();
  const cleanup: string[] = [];
  let all: Promise<Run>[] = [];
  try {
    api.scenario("write", [
      { toolUse: { name: "Write", input: { file_path: "hello.txt", content: "hello from the mock\n" } } },
      { text: "I wrote hello.txt", usage: { input_tokens: 1000, output_tokens: 20 } },
    ]);
    api.scenario("resume2", [{ text: "resumed fine" }]);
    api.scenario("bash", [
      {
        text: "Running a command.",
        toolUse: {
          name: "Bash",
          input: { command: "echo from-bash > bash_out.txt && echo printed", description: "t" },
        },
      },
      { text: "ran it" },
    ]);
    api.scenario("err500", [{ httpError: { status: 500 } }]);
    api.scenario("denied", [
      { toolUse: { name: "Write", input: { file_path: "denied.txt", content: "no\n" } } },
      { text: "could not write" },
    ]);
    api.scenario("delay", [{ delayMs: 1500, text: "late answer" }]);

    // Independent runs, all at once.
    const writeRun = cli(api, bin, "Please write a file. [[mock:write]]");
    const bashRun = cli(api, bin, "Run something. [[mock:bash]]");
    const errRun = cli(api, bin, "Fail please. [[mock:err500]]");
    const planRun = cli(api, bin, "Try to write. [[mock:denied]]", { mode: "plan" });
    const defaultRun = cli(api, bin, "Try to write. [[mock:denied]]", { mode: "default" });
    const delayRun = cli(api, bin, "Be slow. [[mock:delay]]");
    all = [writeRun, bashRun, errRun, planRun, defaultRun, delayRun];
    for (const p of all) p.then((r) => cleanup.push(r.home, r.project), () => {});

    await t.step("(a) Write tool_use creates the file; result has session, turns, usage", async () => {
      const { result: r, project, sessionId } = await writeRun;
      assert.equal(r.code, 0, describe(r));
      assert.equal(await Deno.readTextFile(join(project, "hello.txt")), "hello from the mock\n");
      const init = r.events[0];
      assert.equal(init.type, "system");
      assert.equal(init.subtype, "init");
      assert.equal(init.session_id, sessionId);
      assert.equal(r.result.is_error, false);
      assert.equal(r.result.subtype, "success");
      assert.equal(r.result.session_id, sessionId);
      assert.equal(r.result.num_turns, 2);
      assert.equal(r.result.result, "I wrote hello.txt");
      assert.equal(r.result.usage.input_tokens, 1100);
      assert.equal(r.result.usage.output_tokens, 70);
      assert.ok(r.result.total_cost_usd > 0);
      assert.deepEqual(r.result.permission_denials, []);
      const toolResult = r.events.find((e) => e.type === "user")?.message.content[0];
      assert.equal(toolResult.type, "tool_result");
      assert.notEqual(toolResult.is_error, true);
      const reqs = api.mainRequests("write");
      assert.deepEqual(reqs.map((q) => q.step), [0, 1]);
      assert.equal(reqs[0].headers["x-claude-code-session-id"], sessionId);
    });

    await t.step("(b) --resume with a new prompt: the request carries the earlier conversation", async () => {
      const first = await writeRun;
      const other = await Deno.makeTempDir({ prefix: "cc-proj-" });
      cleanup.push(other);
      const { result: r } = await cli(api, bin, "And now? [[mock:resume2]]", {
        resume: first.sessionId,
        home: first.home,
        project: other, // resume works from another working directory
      });
      assert.equal(r.code, 0, describe(r));
      assert.equal(r.result.session_id, first.sessionId);
      assert.equal(r.result.result, "resumed fine");
      assert.equal(r.result.num_turns, 1);
      const [req] = api.mainRequests("resume2");
      assert.equal(req.step, 0);
      const text = JSON.stringify(req.body.messages);
      assert.ok(text.includes("Please write a file. [[mock:write]]"), "earlier prompt is replayed");
      assert.ok(text.includes("I wrote hello.txt"), "earlier answer is replayed");
      assert.ok(text.includes("And now? [[mock:resume2]]"));
    });

    await t.step("(c) Bash tool_use runs the command", async () => {
      const { result: r, project } = await bashRun;
      assert.equal(r.code, 0, describe(r));
      assert.equal(await Deno.readTextFile(join(project, "bash_out.txt")), "from-bash\n");
      const toolResult = r.events.find((e) => e.type === "user")?.message.content[0];
      assert.equal(toolResult.content, "printed");
      assert.equal(r.result.is_error, false);
      assert.equal(r.result.result, "ran it");
      // Text and tool_use of one response arrive as two assistant events with the same message id.
      const assistants = r.events.filter((e) => e.type === "assistant");
      assert.equal(assistants[0].message.id, assistants[1].message.id);
    });

    await t.step("(d) HTTP 500 with CLAUDE_CODE_MAX_RETRIES=0: is_error, exit 1, fast", async () => {
      const { result: r } = await errRun;
      assert.equal(r.code, 1, describe(r));
      assert.equal(r.result.is_error, true);
      assert.equal(r.result.subtype, "success"); // sic: API errors are "success" with is_error
      assert.equal(r.result.api_error_status, 500);
      assert.equal(r.result.terminal_reason, "api_error");
      assert.match(r.result.result, /500/);
      // "Fast" means no retries (the default is ~10 over ~3 minutes); the request count says so without a clock.
      assert.equal(api.mainRequests("err500").length, 1, "no retries");
    });

    for (const [mode, run] of [["plan", planRun], ["default", defaultRun]] as const) {
      await t.step(`(e) --permission-mode ${mode}: Write is denied and listed`, async () => {
        const { result: r, project } = await run;
        assert.equal(r.code, 0, describe(r));
        assert.equal(exists(join(project, "denied.txt")), false);
        assert.equal(r.result.is_error, false);
        assert.equal(r.result.permission_denials.length, 1);
        assert.equal(r.result.permission_denials[0].tool_name, "Write");
        assert.equal(r.result.permission_denials[0].tool_input.file_path, join(project, "denied.txt"));
        const ev = r.events.find((e) => e.type === "system" && e.subtype === "permission_denied");
        assert.equal(ev?.tool_name, "Write");
        assert.equal(ev?.tool_use_id, r.result.permission_denials[0].tool_use_id);
      });
    }

    await t.step("(f) delayMs delays the answer", async () => {
      const { result: r } = await delayRun;
      assert.equal(r.code, 0, describe(r));
      assert.equal(r.result.result, "late answer");
      assert.ok(r.result.duration_api_ms >= 1400, `duration_api_ms ${r.result.duration_api_ms}`);
    });

    await t.step("unknown --resume id: exit 1, stderr message, error result on stdout", async () => {
      const missing = crypto.randomUUID();
      const run = await cli(api, bin, "x", { resume: missing });
      cleanup.push(run.home, run.project);
      const r = run.result;
      assert.equal(r.code, 1);
      assert.equal(r.stderr.trim(), `No conversation found with session ID: ${missing}`);
      assert.equal(r.result?.subtype, "error_during_execution");
      assert.equal(r.result?.is_error, true);
      assert.deepEqual(r.result?.errors, [`No conversation found with session ID: ${missing}`]);
    });

    await t.step("no request was left unclassified or unexpected", () => {
      for (const q of api.requests) {
        assert.equal(q.pathname, "/v1/messages", `unexpected call ${q.method} ${q.path}`);
      }
    });
  } finally {
    await Promise.allSettled(all); // never leave a CLI running when a step failed early
    await api.close();
    for (const dir of cleanup) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("mock API: a marker naming an unregistered scenario is an API error and fails the test at close()", async () => {
  const api = await startMockApi();
  let closed = false;
  try {
    const res = await fetch(`${api.url}/v1/messages?beta=true`, {
      method: "POST",
      body: JSON.stringify({
        model: "m",
        max_tokens: 10,
        tools: [{ name: "Bash", input_schema: { type: "object" } }],
        messages: [{ role: "user", content: "go [[mock:typo]]" }],
      }),
    });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /unknown scenario .*typo/);
    assert.deepEqual(api.unknownScenarios, ["typo"]);
    await assert.rejects(api.close(), /unregistered scenario\(s\): typo/);
    closed = true;
  } finally {
    if (!closed) await api.close().catch(() => {});
  }
});
