/**
 * The Claude Code CLI behind the agent interface: arguments (`args.ts`), its stream events (`stream.ts`),
 * where its sessions live (`sessions.ts`).
 *
 * @module
 */
import type { Agent } from "../agent.ts";
import { buildClaudeArgs, CLAUDE_SANDBOX_SETTINGS } from "./args.ts";
import { claudeCodeState } from "./sandbox_state.ts";
import { claudeProjectFolder, claudeSessionFolders, claudeStateDir, sessionExists } from "./sessions.ts";
import { claudeParser } from "./stream.ts";

export const INSTALL_HINT = "install it with: npm install -g @anthropic-ai/claude-code " +
  "(or set DISPATCH_CC_BIN to the path of the claude binary)";

export const claudeCode: Agent = {
  name: "claude",
  displayName: "Claude Code",
  binName: "claude",
  binEnv: "DISPATCH_CC_BIN",
  installHint: INSTALL_HINT,
  // The common allow-list (src/sandbox/env.ts) already has ANTHROPIC_* and CLAUDE_*.
  envNames: [],
  envPrefixes: [],
  assignsSessionId: true,
  supportsOutputSchema: true,
  hasOwnSandbox: true,
  command(inv, prompt) {
    if (inv.session.id === null) throw new Error("Claude Code needs a session id (it assigns none itself)");
    return {
      args: buildClaudeArgs({
        session: { mode: inv.session.mode, id: inv.session.id },
        permission: inv.permission,
        model: inv.model,
        maxTurns: inv.maxTurns,
        maxBudgetUsd: inv.maxBudgetUsd,
        allowedTools: inv.allowedTools,
        disallowedTools: inv.disallowedTools,
        appendSystemPrompt: inv.appendSystemPrompt,
        resumeSessionAt: inv.session.mode === "resume" ? inv.resumeAt : undefined,
        protectedPaths: inv.protectedPaths,
        ...(inv.outputSchema ? { jsonSchema: inv.outputSchema } : {}),
        ...(inv.ownSandbox ? { settings: CLAUDE_SANDBOX_SETTINGS } : {}),
      }),
      // `-p` with no argument reads the prompt from stdin: never in argv (128 KiB cap, visible in ps).
      stdin: prompt,
      env: {},
    };
  },
  parser: claudeParser,
  sessionExists: (env, id) => sessionExists(env, id),
  stateDir: claudeStateDir,
  sessionFolders: claudeSessionFolders,
  sandboxState: claudeCodeState,
  stateFolderOf: claudeProjectFolder,
};
