/**
 * The same contract for every agent other than Claude Code, against its real CLI (pinned, from npm) and the
 * stand-in of its model API: a run reports its session at once and ends in one result with this run's
 * tokens and no invented cost; resume continues the same session; an API error carries the API's text;
 * a write the mode refuses is a denial; timeout and cancel end the whole process tree (Gemini's shell
 * children survive SIGTERM: the marker sweep ends them); a CLI that cannot start its work has no result.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Agent, AgentInvocation } from "../src/agents/agent.ts";
import { codexAgent } from "../src/agents/codex/agent.ts";
import { geminiAgent } from "../src/agents/gemini/agent.ts";
import { findMarked } from "../src/runner/sweep.ts";
import {
  type AgentApi,
  type AgentStep,
  startGeminiApi,
  startResponsesApi,
  type ToolCallSpec,
} from "./support/agent_apis.ts";
import { ensureCodexCli, ensureGeminiCli } from "./support/agent_cli.ts";
import { type AgentHome, codexHome, geminiHome } from "./support/agent_env.ts";
import { MARKER, runAgent } from "./support/agent_run.ts";
import { until } from "./support/e2e.ts";

interface Subject {
  agent: Agent;
  ensure: () => Promise<string>;
  startApi: () => Promise<AgentApi>;
  home: (url: string) => Promise<AgentHome>;
  writeFile: (path: string, content: string) => ToolCallSpec;
  shell: (command: string) => ToolCallSpec;
  /** The mode in which its shell tool runs (Gemini offers none headless below yolo). */
  shellPermission: AgentInvocation["permission"];
  apiError: { status: number; message: string };
}

const SUBJECTS: Subject[] = [
  {
    agent: codexAgent,
    ensure: ensureCodexCli,
    startApi: startResponsesApi,
    home: codexHome,
    // Codex edits with shell commands (and apply_patch); a plain redirect is a write like any other.
    writeFile: (path, content) => ({ name: "exec_command", args: { cmd: `printf '${content}' > ${path}` } }),
    shell: (command) => ({ name: "exec_command", args: { cmd: command } }),
    shellPermission: "acceptEdits",
    apiError: { status: 400, message: "model mock-codex does not exist" },
  },
  {
    agent: geminiAgent,
    ensure: ensureGeminiCli,
    startApi: startGeminiApi,
    home: (url) => geminiHome(url),
    writeFile: (path, content) => ({ name: "write_file", args: { file_path: path, content } }),
    shell: (command) => ({ name: "run_shell_command", args: { command } }),
    shellPermission: "bypassPermissions",
    apiError: { status: 500, message: "the model is on fire" },
  },
];

async function fixture(s: Subject) {
  const bin = await s.ensure();
  const api = await s.startApi();
  const home = await s.home(api.url);
  const project = join(home.home, "project");
  await Deno.mkdir(project);
  const inv = (over: Partial<AgentInvocation> = {}): AgentInvocation => ({
    session: { mode: "new", id: s.agent.assignsSessionId ? crypto.randomUUID() : null },
    permission: "acceptEdits",
    projectDir: project,
    protectedPaths: [],
    ...over,
  });
  const run = (name: string, steps: AgentStep[], over: Partial<AgentInvocation> = {}, extra = {}) => {
    api.scenario(name, steps);
    return runAgent({
      agent: s.agent,
      bin,
      inv: inv(over),
      prompt: `Work on it [[mock:${name}]]`,
      env: home.env,
      ...extra,
    });
  };
  return {
    api,
    home,
    project,
    run,
    async cleanup() {
      try {
        await api.close();
      } finally {
        await home.cleanup();
      }
    },
  };
}

for (const s of SUBJECTS) {
  const name = s.agent.name;

  Deno.test(`${name}: a run reports its session, writes through its tool, ends in one result with this run's tokens and no cost`, async () => {
    const f = await fixture(s);
    try {
      const r = await f.run(
        "write",
        [
          { toolCalls: [s.writeFile("out.txt", "hi")] },
          { text: "Wrote out.txt.", usage: { input_tokens: 40, output_tokens: 4 } },
        ],
        {},
        {},
      );
      assert.equal(r.supervised.exitCode, 0);
      assert.ok(r.session, "the session id is reported");
      assert.equal(r.events.findIndex((e) => e.kind === "session"), 0, "as the first event");
      assert.equal(await Deno.readTextFile(join(f.project, "out.txt")), "hi");
      assert.equal(r.result?.ok, true);
      assert.equal(r.result?.text, "Wrote out.txt.");
      assert.equal(r.result?.cost_usd, null);
      // 100 + 50 for the first response (the stand-in's default), 40 + 4 for the second.
      assert.equal(r.result?.usage?.input_tokens, 140);
      assert.equal(r.result?.usage?.output_tokens, 54);
      assert.deepEqual(r.denials, []);
      if (name === "gemini") assert.deepEqual(r.writes, ["out.txt"]);
    } finally {
      await f.cleanup();
    }
  });

  Deno.test(`${name}: resume continues the same session; its tokens are the resumed run's own`, async () => {
    const f = await fixture(s);
    try {
      const a = await f.run("first", [{ text: "Remembered 4217." }]);
      assert.equal(a.result?.ok, true);
      const b = await f.run("second", [{
        text: "It was 4217.",
        usage: { input_tokens: 7, output_tokens: 3 },
      }], {
        session: { mode: "resume", id: a.session },
      });
      assert.equal(b.result?.ok, true, JSON.stringify(b.stdout));
      assert.equal(b.session, a.session);
      assert.equal(await s.agent.sessionExists(f.home.env, a.session!, f.project), true);
      const convo = JSON.stringify(f.api.turns("second")[0].body);
      assert.ok(convo.includes("[[mock:first]]"), "the resumed request carries the first prompt");
      assert.ok(convo.includes("Remembered 4217."), "and the first answer");
      assert.equal(b.result?.usage?.input_tokens, 7);
      assert.equal(b.result?.usage?.output_tokens, 3);
    } finally {
      await f.cleanup();
    }
  });

  Deno.test(`${name}: an API error ends in a failed result carrying the API's text`, async () => {
    const f = await fixture(s);
    try {
      const r = await f.run("err", [{ httpError: s.apiError }]);
      assert.notEqual(r.supervised.exitCode, 0);
      assert.equal(r.result?.ok, false);
      assert.ok(r.result!.errors.join(" ").includes(s.apiError.message), JSON.stringify(r.result?.errors));
      assert.equal(f.api.turns("err").length, 1, "no retries");
    } finally {
      await f.cleanup();
    }
  });

  Deno.test(`${name}: in plan mode a write is refused and listed as a denial; nothing is written`, async () => {
    const f = await fixture(s);
    try {
      const r = await f.run("plan", [{ toolCalls: [s.writeFile("nope.txt", "x")] }, { text: "Could not." }], {
        permission: "plan",
      });
      assert.equal(r.result?.ok, true);
      assert.ok(r.denials.length >= 1, JSON.stringify(r.events));
      assert.equal(await Deno.stat(join(f.project, "nope.txt")).then(() => true, () => false), false);
    } finally {
      await f.cleanup();
    }
  });

  Deno.test(`${name}: a timeout ends the run with no result, and nothing of it is left running`, async () => {
    const f = await fixture(s);
    try {
      const r = await f.run("slow", [{ delayMs: 120_000, text: "late" }], {}, { timeoutMs: 3000 });
      assert.equal(r.supervised.ended, "timeout");
      assert.equal(r.result, null);
      assert.deepEqual(await findMarked(MARKER, r.marker), []);
    } finally {
      await f.cleanup();
    }
  });

  Deno.test(`${name}: cancel during a shell command ends the whole tree, the command included`, async () => {
    const f = await fixture(s);
    try {
      const abort = new AbortController();
      const tag = `dispatch-contract-${crypto.randomUUID().slice(0, 8)}`;
      let marker = "";
      // A background child of the shell tool, then the tool itself waits: both are the run's.
      const command = `sleep 300 & sleep 301; echo ${tag}`;
      const running = f.run("long", [{ toolCalls: [s.shell(command)] }, { text: "never" }], {
        permission: s.shellPermission,
      }, {
        signal: abort.signal,
        onLine: async (line: string) => {
          if (!line.includes("sleep 300")) return;
          // The command is started once the tool call is printed; cancel once its processes exist.
          const procs = await until(async () => {
            const ps = await new Deno.Command("ps", { args: ["-eo", "args"], stdout: "piped" }).output();
            return new TextDecoder().decode(ps.stdout).includes("sleep 301");
          }, 30_000);
          assert.ok(procs, "the shell command started");
          abort.abort("cancelled");
        },
      });
      const r = await running;
      marker = r.marker;
      assert.equal(r.supervised.ended, "cancelled");
      assert.equal(r.result, null);
      assert.deepEqual(await findMarked(MARKER, marker), [], "no process of the run is left");
      const ps = await new Deno.Command("ps", { args: ["-eo", "args"], stdout: "piped" }).output();
      assert.ok(!new TextDecoder().decode(ps.stdout).includes("sleep 301"));
      if (name === "gemini") {
        assert.ok(
          r.supervised.swept.some((p) => p.command.includes("sleep")),
          "Gemini's shell child outlived SIGTERM and the sweep ended it",
        );
      }
    } finally {
      await f.cleanup();
    }
  });
}

Deno.test("codex: a CLI that cannot read its configuration exits without a result", async () => {
  const bin = await ensureCodexCli();
  const home = await codexHome("http://127.0.0.1:9");
  try {
    await Deno.writeTextFile(join(home.env.CODEX_HOME, "config.toml"), "model = [unterminated\n");
    const r = await runAgent({
      agent: codexAgent,
      bin,
      inv: {
        session: { mode: "new", id: null },
        permission: "acceptEdits",
        projectDir: home.home,
        protectedPaths: [],
      },
      prompt: "hi",
      env: home.env,
    });
    assert.notEqual(r.supervised.exitCode, 0);
    assert.equal(r.result, null);
  } finally {
    await home.cleanup();
  }
});
