/**
 * Runs one agent's real CLI the way the runner does (its `command()`, the supervisor with a run marker, its
 * parser, `beforeRun` / `afterRun`) against a stand-in API, and folds the common events the simple way the
 * contract states: the first session id, the first final result, every denial.
 */
import { join } from "node:path";
import type { Agent, AgentInvocation, RunContext } from "../../src/agents/agent.ts";
import type { AgentEvent, Denial, FinalResult } from "../../src/agents/events.ts";
import { supervise, type Supervised } from "../../src/runner/supervise.ts";

export interface AgentRun {
  supervised: Supervised;
  events: AgentEvent[];
  session: string | null;
  result: FinalResult | null;
  denials: Denial[];
  /** Files the tool calls said they write, for the calls that succeeded. */
  writes: string[];
  stdout: string[];
}

export interface AgentRunOptions {
  agent: Agent;
  bin: string;
  inv: AgentInvocation;
  prompt: string;
  /** The CLI's variables (home, key, base URL); PATH and LANG are added. */
  env: Record<string, string>;
  timeoutMs?: number;
  signal?: AbortSignal;
  onLine?: (line: string) => void;
}

export const MARKER = "DISPATCH_CC_RUN";

export async function runAgent(o: AgentRunOptions): Promise<AgentRun & { marker: string }> {
  const cmd = o.agent.command(o.inv, o.prompt);
  const env = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    LANG: "C.UTF-8",
    ...o.env,
    ...cmd.env,
  };
  const ctx: RunContext = {
    env,
    projectDir: o.inv.projectDir,
    permission: o.inv.permission,
    session: o.inv.session,
  };
  await o.agent.beforeRun?.(ctx);
  const parse = o.agent.parser(ctx);
  const events: AgentEvent[] = [];
  const stdout: string[] = [];
  const marker = crypto.randomUUID();
  const stderrPath = join(o.env.TMPDIR ?? "/tmp", `stderr-${marker}.log`);
  const supervised = await supervise({
    command: o.bin,
    args: cmd.args,
    cwd: o.inv.projectDir,
    env: { ...env, [MARKER]: marker },
    stdin: cmd.stdin ?? "",
    timeoutMs: o.timeoutMs ?? 120_000,
    graceMs: 1000,
    marker: { name: MARKER, value: marker },
    stderrPath,
    signal: o.signal,
    onLine: (line) => {
      stdout.push(line);
      events.push(...parse(line));
      o.onLine?.(line);
    },
  });
  await Deno.remove(stderrPath).catch(() => {});
  let session: string | null = null;
  let result: FinalResult | null = null;
  for (const e of events) {
    if (e.kind === "session" && session === null) session = e.session_id;
    if (e.kind === "result" && result === null) result = e.result;
  }
  events.push(...(await o.agent.afterRun?.(ctx, session) ?? []));
  const failed = new Set(events.flatMap((e) => e.kind === "tool_result" && e.is_error ? [e.id] : []));
  return {
    supervised,
    events,
    session,
    result,
    denials: events.flatMap((e) => e.kind === "denial" ? [e.denial] : []),
    writes: events.flatMap((e) => e.kind === "tool_use" && e.writes && !failed.has(e.id) ? [e.writes] : []),
    stdout,
    marker,
  };
}
