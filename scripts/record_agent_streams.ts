/**
 * Records the stdout of the real Codex and Gemini CLIs (pinned, from npm) against the tests' stand-in APIs,
 * with the argv and stdin dispatch-cc's agents build, into tests/fixtures/agents/<agent>-<case>.jsonl: the
 * streams the parser tests read. Run it again after changing a pinned version:
 *
 *     deno run -A scripts/record_agent_streams.ts
 */
import { join } from "node:path";
import type { Agent, AgentInvocation } from "../src/agents/agent.ts";
import { codexAgent } from "../src/agents/codex/agent.ts";
import { geminiAgent } from "../src/agents/gemini/agent.ts";
import {
  type AgentApi,
  type AgentStep,
  startGeminiApi,
  startResponsesApi,
} from "../tests/support/agent_apis.ts";
import { ensureCodexCli, ensureGeminiCli } from "../tests/support/agent_cli.ts";
import { codexHome, geminiHome } from "../tests/support/agent_env.ts";

const OUT = join(import.meta.dirname!, "..", "tests", "fixtures", "agents");

interface Case {
  name: string;
  steps: AgentStep[];
  permission: AgentInvocation["permission"] | "auto";
  /** Resume the session of the case before. */
  resume?: boolean;
  /** SIGTERM after this many ms. */
  killAfterMs?: number;
}

async function record(agent: Agent, bin: string, api: AgentApi, env: Record<string, string>, cases: Case[]) {
  const project = await Deno.makeTempDir({ dir: env.HOME, prefix: "proj-" });
  let last: string | null = null;
  for (const c of cases) {
    api.scenario(c.name, c.steps);
    const id = c.resume ? last : agent.assignsSessionId ? crypto.randomUUID() : null;
    const inv: AgentInvocation = {
      session: { mode: c.resume ? "resume" : "new", id },
      permission: c.permission as AgentInvocation["permission"],
      projectDir: project,
      protectedPaths: [],
    };
    const cmd = agent.command(inv, `Do the ${c.name} case [[mock:${c.name}]]`);
    const child = new Deno.Command(bin, {
      args: cmd.args,
      cwd: project,
      clearEnv: true,
      env: { PATH: Deno.env.get("PATH")!, LANG: "C.UTF-8", ...env, ...cmd.env },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(cmd.stdin ?? ""));
    await w.close();
    if (c.killAfterMs) setTimeout(() => Deno.kill(child.pid, "SIGTERM"), c.killAfterMs);
    const out = await child.output();
    const text = new TextDecoder().decode(out.stdout);
    const m = text.match(/"(?:thread_id|session_id)":"([^"]+)"/);
    if (m) last = m[1];
    await Deno.writeTextFile(join(OUT, `${agent.name}-${c.name}.jsonl`), text);
    console.log(`${agent.name}-${c.name}: exit ${out.code}${out.signal ? ` ${out.signal}` : ""}`);
  }
}

const shell = (cmd: string) => ({ name: "exec_command", args: { cmd } });
{
  const api = await startResponsesApi();
  const home = await codexHome(api.url);
  try {
    await record(codexAgent, await ensureCodexCli(), api, home.env, [
      {
        name: "write",
        permission: "acceptEdits",
        steps: [{ toolCalls: [shell("echo hi > a.txt && cat a.txt")] }, { text: "Wrote a.txt." }],
      },
      {
        name: "resumed",
        permission: "acceptEdits",
        resume: true,
        steps: [{
          text: "Still here.",
          usage: { input_tokens: 7, output_tokens: 3, cached_input_tokens: 2 },
        }],
      },
      {
        name: "outside",
        permission: "acceptEdits",
        steps: [{ toolCalls: [shell("echo x > /etc/dispatch-zz; echo done")] }, { text: "Tried." }],
      },
      {
        name: "readonly",
        permission: "plan",
        steps: [{ toolCalls: [shell("echo hi > a.txt")] }, { text: "Could not write." }],
      },
      {
        name: "api400",
        permission: "acceptEdits",
        steps: [{ httpError: { status: 400, message: "bad model" } }],
      },
      {
        name: "killed",
        permission: "acceptEdits",
        killAfterMs: 2500,
        steps: [{ toolCalls: [shell("sleep 30")] }, { text: "never" }],
      },
    ]);
  } finally {
    await api.close().catch((e) => console.error(String(e)));
    await home.cleanup();
  }
}
{
  const api = await startGeminiApi();
  const home = await geminiHome(api.url);
  const write = { name: "write_file", args: { file_path: "a.txt", content: "hi\n" } };
  const sh = { name: "run_shell_command", args: { command: "echo ran" } };
  try {
    await record(geminiAgent, await ensureGeminiCli(), api, home.env, [
      { name: "write", permission: "acceptEdits", steps: [{ toolCalls: [write] }, { text: "Wrote a.txt." }] },
      {
        name: "resumed",
        permission: "acceptEdits",
        resume: true,
        steps: [{ text: "Still here.", usage: { input_tokens: 7, output_tokens: 3 } }],
      },
      {
        name: "plan",
        permission: "plan",
        steps: [{ toolCalls: [write] }, { toolCalls: [sh] }, { text: "Could not." }],
      },
      {
        name: "outside",
        permission: "bypassPermissions",
        steps: [{ toolCalls: [{ name: "write_file", args: { file_path: "/etc/zz", content: "x" } }] }, {
          text: "Tried.",
        }],
      },
      {
        name: "api500",
        permission: "acceptEdits",
        steps: [{ httpError: { status: 500, message: "on fire" } }],
      },
    ]);
  } finally {
    await api.close().catch((e) => console.error(String(e)));
    await home.cleanup();
  }
}
{
  // Gemini's turn limit is a setting (model.maxSessionTurns), not a flag.
  const api = await startGeminiApi();
  const home = await geminiHome(api.url, { model: { name: "gemini-2.5-flash", maxSessionTurns: 1 } });
  const read = { name: "read_file", args: { file_path: "/etc/hostname" } };
  try {
    await record(geminiAgent, await ensureGeminiCli(), api, home.env, [
      { name: "turnlimit", permission: "acceptEdits", steps: [{ toolCalls: [read] }, { toolCalls: [read] }] },
    ]);
  } finally {
    await api.close().catch((e) => console.error(String(e)));
    await home.cleanup();
  }
}
