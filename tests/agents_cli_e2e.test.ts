/**
 * dispatch-cc with `--agent codex|gemini`, end to end: the real CLIs (pinned, from npm) against the stand-in
 * APIs, through dispatch-cc started as users start it. The same contract as Claude Code's runs: the record,
 * the project remembering its agent, resume on the same session, review, denials, errors, timeout, a
 * missing binary, and an environment holding only what the CLI needs.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startGeminiApi, startResponsesApi } from "./support/agent_apis.ts";
import { ensureCodexCli, ensureGeminiCli } from "./support/agent_cli.ts";
import { codexHome, geminiHome } from "./support/agent_env.ts";
import { baseEnv, runCli } from "./support/cli.ts";

const readJson = async (p: string) => JSON.parse(await Deno.readTextFile(p));
const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

async function codexFixture() {
  const api = await startResponsesApi();
  const home = await codexHome(api.url);
  const projects = join(home.home, "projects");
  const env = baseEnv({ projects, home: home.home }, {
    ...home.env,
    DISPATCH_CODEX_BIN: await ensureCodexCli(),
    // Secrets of other services and of another agent never reach Codex.
    SECRET_TOKEN: "s3cr3t",
    ANTHROPIC_API_KEY: "not-for-codex",
  });
  return {
    api,
    env,
    projects,
    async cleanup() {
      try {
        await api.close();
      } finally {
        await home.cleanup();
      }
    },
  };
}

async function geminiFixture() {
  const api = await startGeminiApi();
  const home = await geminiHome(api.url);
  const projects = join(home.home, "projects");
  const env = baseEnv({ projects, home: home.home }, {
    ...home.env,
    DISPATCH_GEMINI_BIN: await ensureGeminiCli(),
    OPENAI_API_KEY: "not-for-gemini",
  });
  return {
    api,
    env,
    projects,
    async cleanup() {
      try {
        await api.close();
      } finally {
        await home.cleanup();
      }
    },
  };
}

Deno.test("codex: run records the agent, the thread id, this run's tokens and no cost; resume continues it; status, list and history say codex", async () => {
  const f = await codexFixture();
  try {
    f.api.scenario("w", [
      { toolCalls: [{ name: "exec_command", args: { cmd: "printf hi > out.txt; env > env.txt" } }] },
      { text: "Wrote out.txt." },
    ]);
    f.api.scenario("r", [{ text: "Still here.", usage: { input_tokens: 7, output_tokens: 3 } }]);
    const a = await runCli(
      ["run", "--agent", "codex", "--slug", "cx", "--prompt", "Go [[mock:w]]", "--json"],
      {
        env: f.env,
      },
    );
    assert.equal(a.code, 0, a.stderr);
    const dir = join(f.projects, "cx");
    assert.equal(await Deno.readTextFile(join(dir, "out.txt")), "hi");
    assert.equal(a.json.status, "success");
    assert.equal(a.json.agent, "codex");
    assert.equal(a.json.result, "Wrote out.txt.");
    assert.equal(a.json.cost_usd, null);
    assert.equal(a.json.usage.input_tokens, 200);
    assert.match(a.json.session_id, /^[0-9a-f-]{36}$/);
    const logs = join(dir, ".dispatch-logs");
    assert.equal((await Deno.readTextFile(join(logs, "last-session-id"))).trim(), a.json.session_id);
    assert.equal((await readJson(join(logs, "project.json"))).agent, "codex");
    // The child's environment: the CLI's own names, nothing of other services or agents.
    const childEnv = await Deno.readTextFile(join(dir, "env.txt"));
    assert.match(childEnv, /^CODEX_HOME=/m);
    assert.doesNotMatch(childEnv, /s3cr3t|not-for-codex/);
    assert.ok(a.json.env_names.includes("OPENAI_API_KEY"));
    assert.ok(!a.json.env_names.includes("ANTHROPIC_API_KEY"));
    const result = await readJson(a.json.result_file);
    assert.equal(result.type, "turn.completed", "the result file holds the CLI's own final event");

    // resume without --agent: the project's agent, the same thread, this run's own tokens.
    const b = await runCli(["resume", "--slug", "cx", "--prompt", "More [[mock:r]]", "--json"], {
      env: f.env,
    });
    assert.equal(b.code, 0, b.stderr);
    assert.equal(b.json.agent, "codex");
    assert.equal(b.json.session_mode, "resume");
    assert.equal(b.json.session_id, a.json.session_id);
    assert.deepEqual([b.json.usage.input_tokens, b.json.usage.output_tokens], [7, 3]);
    assert.ok(JSON.stringify(f.api.turns("r")[0].body).includes("Wrote out.txt."), "the thread's history");

    const status = await runCli(["status", "--slug", "cx", "--json"], { env: f.env });
    assert.equal(status.json.agent, "codex");
    const list = await runCli(["list", "--json"], { env: f.env });
    assert.equal(list.json.projects[0].agent, "codex");
    const history = await runCli(["history", "--slug", "cx", "--json"], { env: f.env });
    assert.deepEqual(history.json.runs.map((r: { agent: string }) => r.agent), ["codex", "codex"]);
    assert.equal(history.json.totals.runs_without_cost, 2);
  } finally {
    await f.cleanup();
  }
});

Deno.test("codex: a review is read-only: the write its sandbox refused is a denial, the run BLOCKED (exit 4)", async () => {
  const f = await codexFixture();
  try {
    f.api.scenario("w", [{ text: "Done." }]);
    f.api.scenario("rev", [
      { toolCalls: [{ name: "exec_command", args: { cmd: "echo x > REVIEW.md" } }] },
      { text: "Review: fine." },
    ]);
    const a = await runCli(
      ["run", "--agent", "codex", "--slug", "rv", "--prompt", "Go [[mock:w]]", "--json"],
      {
        env: f.env,
      },
    );
    assert.equal(a.code, 0, a.stderr);
    const r = await runCli(["review", "--slug", "rv", "--prompt", "Review [[mock:rev]]", "--json"], {
      env: f.env,
    });
    assert.equal(r.code, 4, r.stderr);
    assert.equal(r.json.status, "blocked");
    assert.equal(r.json.agent, "codex");
    assert.equal(r.json.permission, "plan");
    assert.equal(r.json.permission_denials[0].source, "agent_sandbox");
    assert.match(r.json.permission_denials[0].reason, /Read-only file system/);
    assert.equal(await exists(join(f.projects, "rv", "REVIEW.md")), false);
  } finally {
    await f.cleanup();
  }
});

Deno.test("codex: an API error is exit 1 with the API's text; a turn limit is warned about, not silently dropped", async () => {
  const f = await codexFixture();
  try {
    f.api.scenario("e", [{ httpError: { status: 400, message: "model mock-codex does not exist" } }]);
    const r = await runCli(
      ["run", "--agent", "codex", "--slug", "er", "--prompt", "Go [[mock:e]]", "--max-turns", "3", "--json"],
      { env: f.env },
    );
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.json.status, "error");
    assert.match(r.json.error, /model mock-codex does not exist/);
    assert.ok(r.json.warnings.some((w: string) => /no turn limit/.test(w)));
  } finally {
    await f.cleanup();
  }
});

Deno.test("an agent's missing binary is exit 127 with its install command; an unknown agent is exit 2", async () => {
  const t = await Deno.makeTempDir();
  try {
    const env = baseEnv({ projects: join(t, "p"), home: t }, { PATH: "/usr/bin:/bin" });
    const r = await runCli(["run", "--agent", "gemini", "--slug", "x", "--prompt", "p", "--json"], { env });
    assert.equal(r.code, 127);
    assert.match(r.json.error.message, /npm install -g @google\/gemini-cli/);
    const c = await runCli(["run", "--slug", "x", "--prompt", "p", "--json"], {
      env: { ...env, DISPATCH_AGENT: "codex" },
    });
    assert.equal(c.code, 127);
    assert.match(c.json.error.message, /npm install -g @openai\/codex/);
    const u = await runCli(["run", "--agent", "copilot", "--slug", "x", "--prompt", "p", "--json"], { env });
    assert.equal(u.code, 2);
    assert.match(u.json.error.message, /unknown agent "copilot" \(expected one of: claude, codex, gemini\)/);
    assert.equal(await exists(join(t, "p")), false, "nothing written");
  } finally {
    await Deno.remove(t, { recursive: true });
  }
});

Deno.test("gemini: run and resume on the assigned session; naming another agent for the project starts its new session with a warning", async () => {
  const f = await geminiFixture();
  const c = await codexFixture();
  try {
    f.api.scenario("w", [
      { toolCalls: [{ name: "write_file", args: { file_path: "out.txt", content: "hi" } }] },
      { text: "Wrote out.txt." },
    ]);
    f.api.scenario("r", [{ text: "Still here.", usage: { input_tokens: 7, output_tokens: 3 } }]);
    const a = await runCli([
      "run",
      "--agent",
      "gemini",
      "--slug",
      "gm",
      "--prompt",
      "Go [[mock:w]]",
      "--json",
    ], {
      env: f.env,
    });
    assert.equal(a.code, 0, a.stderr);
    assert.equal(a.json.agent, "gemini");
    assert.deepEqual(a.json.files_touched, ["out.txt"]);
    assert.equal(a.json.cost_usd, null);
    assert.ok(!a.json.env_names.includes("OPENAI_API_KEY"));
    assert.ok(a.json.env_names.includes("GEMINI_CLI_NO_RELAUNCH"));
    const b = await runCli(["resume", "--slug", "gm", "--prompt", "More [[mock:r]]", "--json"], {
      env: f.env,
    });
    assert.equal(b.code, 0, b.stderr);
    assert.equal(b.json.session_id, a.json.session_id);
    assert.equal(b.json.session_mode, "resume");
    assert.equal(b.json.usage.input_tokens, 7);

    // The same project, now with Codex: a new Codex session, with a warning; the project is Codex's.
    c.api.scenario("x", [{ text: "Codex here." }]);
    const env = { ...f.env, ...c.env, DISPATCH_PROJECTS_DIR: f.projects };
    const x = await runCli([
      "resume",
      "--agent",
      "codex",
      "--slug",
      "gm",
      "--prompt",
      "Take over [[mock:x]]",
      "--json",
    ], {
      env,
    });
    assert.equal(x.code, 0, x.stderr);
    assert.equal(x.json.agent, "codex");
    assert.equal(x.json.session_mode, "new");
    assert.notEqual(x.json.session_id, a.json.session_id);
    assert.ok(
      x.json.warnings.some((w: string) => /worked on by Gemini CLI; starting a new Codex session/.test(w)),
    );
    assert.equal((await readJson(join(f.projects, "gm", ".dispatch-logs", "project.json"))).agent, "codex");
  } finally {
    await c.cleanup();
    await f.cleanup();
  }
});

Deno.test("gemini: an API error carries its status and text; a timeout is exit 124", async () => {
  const f = await geminiFixture();
  try {
    // A 429's text carries no status: it comes from Gemini's exit code (173 = 429 mod 256).
    f.api.scenario("e", [{ httpError: { status: 429, message: "slow down" } }]);
    const e = await runCli([
      "run",
      "--agent",
      "gemini",
      "--slug",
      "ge",
      "--prompt",
      "Go [[mock:e]]",
      "--json",
    ], {
      env: f.env,
    });
    assert.equal(e.code, 1, e.stderr);
    assert.equal(e.json.status, "error");
    assert.equal(e.json.api_error_status, 429);
    assert.match(e.json.error, /API error 429: .*slow down/);

    f.api.scenario("slow", [{ delayMs: 120_000, text: "late" }]);
    const t = await runCli(
      [
        "run",
        "--agent",
        "gemini",
        "--slug",
        "gt",
        "--prompt",
        "Go [[mock:slow]]",
        "--timeout",
        "4",
        "--json",
      ],
      { env: f.env },
    );
    assert.equal(t.code, 124, t.stderr);
    assert.equal(t.json.status, "timeout");
    assert.equal(t.json.agent, "gemini");
  } finally {
    await f.cleanup();
  }
});

Deno.test("apply runs a task file's agent: and its follow-up on the same session", async () => {
  const f = await codexFixture();
  try {
    f.api.scenario("t1", [{ text: "First." }]);
    f.api.scenario("t2", [{ text: "Second." }]);
    const dir = await Deno.makeTempDir({ dir: f.projects.replace(/projects$/, "") });
    const file = join(dir, "task.yaml");
    await Deno.writeTextFile(
      file,
      "slug: ap\nagent: codex\nprompt: Start [[mock:t1]]\nfollow_ups:\n  - Continue [[mock:t2]]\n",
    );
    const r = await runCli(["apply", file, "--json"], { env: f.env });
    assert.equal(r.code, 0, r.stderr);
    const steps = r.json.tasks[0].steps;
    assert.deepEqual(steps.map((s: { status: string }) => s.status), ["success", "success"]);
    assert.equal(steps[1].session_id, steps[0].session_id);
    assert.equal((await readJson(join(f.projects, "ap", ".dispatch-logs", "project.json"))).agent, "codex");
  } finally {
    await f.cleanup();
  }
});

Deno.test("codex under --sandbox: Codex's own sandbox is off inside bubblewrap; a write outside the project is refused by the OS sandbox (BLOCKED); plan mode is refused", async () => {
  const f = await codexFixture();
  try {
    f.api.scenario("sb", [
      {
        toolCalls: [{
          name: "exec_command",
          args: { cmd: "printf hi > out.txt; echo x > /etc/dispatch-sb-test" },
        }],
      },
      { text: "Tried." },
    ]);
    const r = await runCli([
      "run",
      "--agent",
      "codex",
      "--slug",
      "sb",
      "--prompt",
      "Go [[mock:sb]]",
      "--sandbox",
      "--json",
    ], {
      env: f.env,
    });
    assert.equal(r.code, 4, r.stderr);
    assert.equal(r.json.status, "blocked");
    assert.equal(await Deno.readTextFile(join(f.projects, "sb", "out.txt")), "hi");
    assert.equal(await exists("/etc/dispatch-sb-test"), false);
    assert.equal(r.json.permission_denials[0].source, "sandbox");
    const p = await runCli(
      ["review", "--slug", "sb", "--prompt", "Review [[mock:sb]]", "--sandbox", "--json"],
      { env: f.env },
    );
    assert.equal(p.code, 2);
    assert.match(p.json.error.message, /does not nest/);
  } finally {
    await f.cleanup();
  }
});
