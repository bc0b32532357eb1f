/** The agent seam (issue 14): the registry, Claude Code behind the interface, nothing else knowing it. */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Agent } from "../src/agents/agent.ts";
import { claudeCode } from "../src/agents/claude_code/mod.ts";
import { AGENT_NAMES } from "../src/agents/names.ts";
import { AGENTS, getAgent, isAgentName } from "../src/agents/registry.ts";
import { planLaunch } from "../src/sandbox/launch.ts";

const SRC = join(import.meta.dirname!, "..", "src");

Deno.test("the registry names Claude Code by default, one entry per agent", () => {
  assert.equal(getAgent(), claudeCode);
  assert.equal(getAgent("claude").displayName, "Claude Code");
  assert.ok(isAgentName("claude"));
  assert.ok(!isAgentName("toString"));
  for (const [name, agent] of Object.entries(AGENTS)) assert.equal(agent!.name, name);
  assert.deepEqual(Object.keys(AGENTS), [...AGENT_NAMES]);
});

/** The modules `path` loads before it runs (static imports, followed), as paths under src/. */
function staticImports(path: string, seen = new Set<string>()): Set<string> {
  if (seen.has(path)) return seen;
  seen.add(path);
  const text = Deno.readTextFileSync(path);
  for (const m of text.matchAll(/^(?:import|export)(?! type)[^;]*? from "(\.[^"]+)";/gms)) {
    staticImports(join(path, "..", m[1]), seen);
  }
  return seen;
}

Deno.test("list, search, status and the program's start load no agent, runner, sandbox launcher or git", () => {
  for (const entry of ["main.ts", "cli/list.ts", "cli/search.ts", "cli/status.ts"]) {
    const loaded = [...staticImports(join(SRC, entry))].map((p) => p.slice(SRC.length + 1));
    const heavy = loaded.filter((p) =>
      /^(runner\/(?!stop_registry)|git\/|agents\/(?!names|agent\.ts)|sandbox\/(bwrap|launch))/.test(p)
    );
    assert.deepEqual(heavy, [], entry);
  }
});

Deno.test("nothing outside src/agents/ imports an agent's folder (only the registry does)", () => {
  const offenders: string[] = [];
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(dir)) {
      const p = join(dir, e.name);
      if (e.isDirectory) {
        if (p !== join(SRC, "agents")) walk(p);
      } else if (p.endsWith(".ts") && /from "[./]*\/agents\/[a-z_]+\//.test(Deno.readTextFileSync(p))) {
        offenders.push(p.slice(SRC.length + 1));
      }
    }
  };
  walk(SRC);
  assert.deepEqual(offenders, []);
});

Deno.test("Claude Code's invocation keeps its file tools out of the protected folders, prompt on stdin", () => {
  const cmd = claudeCode.command({
    session: { mode: "new", id: "11111111-2222-3333-4444-555555555555" },
    permission: "acceptEdits",
    projectDir: "/p/x",
    protectedPaths: ["/p/x/.dispatch-logs"],
  }, "the prompt");
  assert.equal(cmd.stdin, "the prompt");
  assert.ok(!cmd.args.includes("the prompt"));
  for (const tool of ["Write", "Edit", "MultiEdit", "NotebookEdit"]) {
    const i = cmd.args.indexOf(`${tool}(//p/x/.dispatch-logs/**)`);
    assert.ok(i > 0 && cmd.args[i - 1] === "--disallowedTools", tool);
  }
});

Deno.test("an agent's own environment names and prefixes pass the allow-list, nothing else does", async () => {
  const other: Agent = { ...claudeCode, name: "codex", envNames: ["OTHER_HOME"], envPrefixes: ["OTHER_"] };
  const plan = await planLaunch({
    agent: other,
    claudeBin: "/opt/other",
    claudeArgs: [],
    projectDir: "/srv/p/x",
    logsDir: "/srv/p/x/.dispatch-logs",
    parentEnv: { PATH: "/bin", HOME: "/h", OTHER_HOME: "/o", OTHER_API_KEY: "k", SECRET_TOKEN: "s" },
    set: {},
    permission: "acceptEdits",
    ceiling: "acceptEdits",
    uid: 1000,
    os: "linux",
  });
  assert.deepEqual(plan.envNames, ["HOME", "OTHER_API_KEY", "OTHER_HOME", "PATH"]);
});
