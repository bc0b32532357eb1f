/**
 * The Codex CLI (`@openai/codex`, checked with 0.171.0) behind the agent interface.
 *
 * Headless: `codex exec --json`, the prompt on stdin (`-`). Sessions ("threads") get their id from Codex
 * (`thread.started`), so dispatch-cc cannot assign one. Users configure Codex as its docs say, in
 * `$CODEX_HOME/config.toml` (model, provider, retries); its API key comes from OPENAI_API_KEY (or a login
 * kept in CODEX_HOME).
 *
 * Traps: a CODEX_HOME under the temp folder makes Codex refuse to install its sandbox helper, so every
 * sandboxed command fails while Codex still exits 0. With `-s read-only` refused commands are not printed
 * on stdout: `afterRun` reads them from the thread's session log.
 */
import type { Agent, AgentInvocation, RunContext } from "../agent.ts";
import type { AgentEvent } from "../events.ts";
import { npmAgentState } from "../npm_state.ts";
import { buildCodexArgs, codexSandbox, codexUnsupported } from "./args.ts";
import { codexParser } from "./events.ts";
import { codexHome, findRollout, refusalsInRollout, rolloutState } from "./sessions.ts";

export const codexAgent: Agent = {
  name: "codex",
  displayName: "Codex",
  binName: "codex",
  binEnv: "DISPATCH_CODEX_BIN",
  installHint:
    "install it with: npm install -g @openai/codex (or set DISPATCH_CODEX_BIN to the codex binary)",
  envNames: ["CODEX_HOME", "OPENAI_API_KEY"],
  envPrefixes: [],
  assignsSessionId: false,
  supportsOutputSchema: false,
  hasOwnSandbox: false,
  stateDir: codexHome,
  sandboxState: (_env, _project, folders, bin) => npmAgentState("Codex", folders, bin),
  // Codex writes its whole home on every run (sessions, SQLite state, its own tmp).
  sessionFolders: (env: Record<string, string>) => Promise.resolve([codexHome(env)]),
  command(inv: AgentInvocation, prompt: string) {
    return { args: buildCodexArgs(inv), stdin: prompt, env: {} };
  },
  parser: (ctx?: RunContext) => codexParser(ctx),
  async beforeRun(ctx: RunContext) {
    if (ctx.session.mode !== "resume" || ctx.session.id === null) return;
    const file = await findRollout(ctx.env, ctx.session.id);
    if (!file) return;
    try {
      const { size, usage } = await rolloutState(file);
      ctx.notes = { ...ctx.notes, rolloutOffset: size, usageBefore: usage };
    } catch { /* unreadable: tokens of this run stay unknown */ }
  },
  async afterRun(ctx: RunContext, sessionId: string | null): Promise<AgentEvent[]> {
    // Only the read-only sandbox hides refused commands from the stream; the other modes print them.
    if (codexSandbox(ctx.permission) !== "read-only" || sessionId === null) return [];
    const file = await findRollout(ctx.env, sessionId);
    if (!file) return [];
    const offset = sessionId === ctx.session.id ? Number(ctx.notes?.rolloutOffset ?? 0) : 0;
    const seen = new Set((ctx.notes?.streamDenied as string[] | undefined) ?? []);
    try {
      const found = await refusalsInRollout(file, offset);
      return found
        .filter((d) => {
          const cmd = String((d.input as { cmd?: unknown } | null)?.cmd ?? "");
          return cmd === "" || ![...seen].some((shown) => shown.includes(cmd));
        })
        .map((denial) => ({ kind: "denial" as const, denial }));
    } catch {
      return [];
    }
  },
  unsupported: codexUnsupported,
  async sessionExists(env: Record<string, string>, id: string) {
    return (await findRollout(env, id)) !== null;
  },
};
