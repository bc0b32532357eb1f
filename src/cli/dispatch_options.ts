/**
 * The options shared by run, resume and review, and their translation into a DispatchRequest.
 */
import { resolve } from "../paths.ts";
import { UsageError } from "../errors.ts";
import { parseSeconds } from "../config.ts";
import type { DispatchRequest } from "../runner/dispatch.ts";
import type { VerifyRequest } from "../runner/request.ts";
import { resolveSandbox } from "../sandbox/choice.ts";
import { parsePermission } from "../sandbox/permission.ts";
import { parseAgentName } from "../agents/names.ts";
import { validateSlug } from "../store/slug.ts";
import type { CommandContext } from "./context.ts";
import { flag, type OptionSpecs, type Parsed, positiveNumber, str, toolList } from "./options.ts";

export const COMMON_OPTIONS: OptionSpecs = {
  json: { type: "boolean", help: "print one JSON document on stdout (messages go to stderr)" },
  help: { type: "boolean", short: "h", help: "show this help" },
};

export const RESULT_LIMIT_OPTION: OptionSpecs = {
  "result-limit": {
    type: "string",
    arg: "N",
    help: "show at most N characters of the result (text default 2000; --json: full unless given)",
  },
};

export const DISPATCH_OPTIONS: OptionSpecs = {
  slug: { type: "string", arg: "SLUG", help: "project name: letters, digits, '.', '_', '-' (required)" },
  agent: {
    type: "string",
    arg: "NAME",
    help:
      "the specialist CLI: claude (default), codex, gemini (default: the project's, else $DISPATCH_AGENT)",
  },
  prompt: { type: "string", arg: "TEXT", help: "the task for the specialist" },
  "prompt-file": { type: "string", arg: "FILE", help: "read the prompt from FILE ('-' for standard input)" },
  timeout: {
    type: "string",
    arg: "DURATION",
    help: "end the run after DURATION: seconds, or 90s, 10m, 1h (default $DISPATCH_TIMEOUT or 600)",
  },
  "max-turns": { type: "string", arg: "N", help: "stop after N model turns" },
  model: { type: "string", arg: "MODEL", help: "the agent's model (Claude Code: an alias or a full name)" },
  "allowed-tools": {
    type: "string",
    multiple: true,
    arg: "TOOLS",
    help: 'tools allowed without asking, e.g. "Read,Bash(npm test:*)"',
  },
  "disallowed-tools": {
    type: "string",
    multiple: true,
    arg: "TOOLS",
    help: "tools removed from the model's reach",
  },
  "system-prompt": { type: "string", arg: "TEXT", help: "text appended to Claude Code's system prompt" },
  permission: {
    type: "string",
    arg: "MODE",
    help: "acceptEdits, plan, default, dontAsk, auto, bypassPermissions (default acceptEdits; review: plan)",
  },
  "max-budget-usd": { type: "string", arg: "USD", help: "stop when the run has cost this much" },
  env: {
    type: "string",
    multiple: true,
    arg: "NAME",
    help: "also pass environment variable NAME to Claude Code",
  },
  wait: { type: "boolean", help: "wait for the project's lock instead of failing at once" },
  sandbox: {
    type: "boolean",
    help: "run Claude Code under bubblewrap: writes only in the project (default: $DISPATCH_SANDBOX)",
  },
  "no-network": { type: "boolean", help: "the OS sandbox without network (implies --sandbox)" },
  "claude-sandbox": {
    type: "boolean",
    help: "use Claude Code's own Bash sandbox instead (Bash only; needs bwrap and socat)",
  },
  "no-sandbox": { type: "boolean", help: "no sandbox, whatever DISPATCH_SANDBOX says" },
  "allow-dangerous": {
    type: "boolean",
    help: "allow a --permission above the ceiling $DISPATCH_MAX_PERMISSION (default acceptEdits)",
  },
  "dry-run": {
    type: "boolean",
    help: "show the permission set, environment, permission and sandbox in effect; run nothing",
  },
  detach: {
    type: "boolean",
    help: "start the run in the background and return at once with its run id (then: wait, logs, cancel)",
  },
  "output-schema": {
    type: "string",
    arg: "SCHEMA",
    help:
      "a JSON Schema (inline, or @FILE) the final answer must match: the result carries structured_output",
  },
  verify: {
    type: "string",
    arg: "CMD",
    help:
      "after a successful run, run CMD (/bin/sh -c, in the project, sandboxed like the run); if it fails, " +
      "resume with its output and check again",
  },
  "verify-retries": { type: "string", arg: "N", help: "extra rounds after a failed --verify (default 1)" },
  "on-done": {
    type: "string",
    arg: "CMD",
    help: "when the run ends, run CMD (/bin/sh -c, not sandboxed) with the run's JSON on stdin " +
      "(default $DISPATCH_ON_DONE)",
  },
  ...RESULT_LIMIT_OPTION,
  verbose: { type: "boolean", help: "show each tool call and event on stderr" },
  progress: { type: "boolean", help: "show progress on stderr even when it is not a terminal" },
  quiet: {
    type: "boolean",
    short: "q",
    help: "no messages on stderr; with --detach, only the run id on stdout",
  },
  ...COMMON_OPTIONS,
};

/** Reads the prompt from --prompt or --prompt-file (relative to the user's folder; '-' is stdin). */
export async function readPrompt(
  p: Parsed,
  ctx: CommandContext,
  required: boolean,
): Promise<string | undefined> {
  const text = str(p, "prompt");
  const file = str(p, "prompt-file");
  if (text !== undefined && file !== undefined) {
    throw new UsageError("give either --prompt or --prompt-file, not both");
  }
  let prompt = text;
  if (file !== undefined) {
    if (file === "-") prompt = await ctx.readStdin();
    else {
      const path = resolve(ctx.config.userCwd, file);
      try {
        prompt = await Deno.readTextFile(path);
      } catch (err) {
        const why = err instanceof Deno.errors.NotFound
          ? "no such file"
          : err instanceof Error
          ? err.message
          : String(err);
        throw new UsageError(`cannot read --prompt-file ${file}: ${why}`);
      }
    }
  }
  if (prompt !== undefined && prompt.trim() === "") {
    throw new UsageError(file !== undefined ? `--prompt-file ${file} is empty` : "--prompt is empty");
  }
  if (prompt === undefined && required) {
    throw new UsageError("missing prompt: give --prompt TEXT or --prompt-file FILE");
  }
  return prompt;
}

/** `--verify CMD` and `--verify-retries N` (0 or more; default 1). */
export function verifyFromFlags(p: Parsed): VerifyRequest | undefined {
  const command = str(p, "verify");
  const raw = str(p, "verify-retries");
  if (command === undefined) {
    if (raw !== undefined) throw new UsageError("--verify-retries needs --verify CMD");
    return undefined;
  }
  if (command.trim() === "") throw new UsageError("--verify is empty");
  let retries = 1;
  if (raw !== undefined) {
    retries = Number(raw.trim());
    if (raw.trim() === "" || !Number.isSafeInteger(retries) || retries < 0 || retries > 20) {
      throw new UsageError(
        `--verify-retries must be a whole number from 0 to 20, got ${JSON.stringify(raw)}`,
      );
    }
  }
  return { command, retries };
}

/** `--on-done CMD`, else DISPATCH_ON_DONE (an empty value: none). */
export function onDoneFromFlags(p: Parsed, env: Record<string, string>): string | undefined {
  const cmd = str(p, "on-done") ?? env.DISPATCH_ON_DONE;
  return cmd !== undefined && cmd.trim() !== "" ? cmd : undefined;
}

/** The slug, required and valid. */
export function requireSlug(p: Parsed): string {
  const slug = str(p, "slug");
  if (slug === undefined) throw new UsageError("missing --slug");
  return validateSlug(slug);
}

/** Everything of a DispatchRequest that comes from the shared flags. */
export function requestFromFlags(
  p: Parsed,
  ctx: CommandContext,
  defaults: { permission?: DispatchRequest["permission"] } = {},
): Omit<DispatchRequest, "command" | "slug" | "prompt" | "session"> {
  const permission = str(p, "permission");
  const agent = str(p, "agent");
  return {
    ...(agent !== undefined ? { agent: parseAgentName(agent, "--agent") } : {}),
    description: str(p, "desc"),
    permission: permission !== undefined
      ? parsePermission(permission, "--permission")
      : defaults.permission ?? ctx.config.permission,
    timeoutS: str(p, "timeout") !== undefined
      ? parseSeconds(str(p, "timeout")!, "--timeout")
      : ctx.config.timeoutS,
    maxTurns: positiveNumber(p, "max-turns", true),
    maxBudgetUsd: positiveNumber(p, "max-budget-usd"),
    model: str(p, "model"),
    allowedTools: toolList(p, "allowed-tools"),
    disallowedTools: toolList(p, "disallowed-tools"),
    systemPrompt: str(p, "system-prompt"),
    envNames: p.values.env as string[] | undefined,
    wait: flag(p, "wait"),
    permissionSource: permission !== undefined
      ? "--permission"
      : defaults.permission !== undefined
      ? "the default permission"
      : ctx.config.env.DISPATCH_PERMISSION?.trim()
      ? "DISPATCH_PERMISSION"
      : "the default permission",
    allowDangerous: flag(p, "allow-dangerous"),
    verify: verifyFromFlags(p),
    onDone: onDoneFromFlags(p, ctx.config.env),
    sandbox: resolveSandbox(
      {
        sandbox: flag(p, "sandbox"),
        noNetwork: flag(p, "no-network"),
        claudeSandbox: flag(p, "claude-sandbox"),
        noSandbox: flag(p, "no-sandbox"),
      },
      undefined,
      ctx.config.sandbox,
    ),
  };
}

/** How a dispatching command reports: in the background or not, and how much of the result to print. */
export interface OutputFlags {
  detach: boolean;
  resultLimit?: number;
  /** `--dry-run`: show the launch, run nothing. */
  dryRun?: boolean;
  /** `-q`: with --detach, only the run id on stdout (no STARTED block). */
  quiet?: boolean;
}

export function outputFromFlags(p: Parsed): OutputFlags {
  return {
    detach: flag(p, "detach"),
    resultLimit: positiveNumber(p, "result-limit", true),
    dryRun: flag(p, "dry-run"),
    quiet: flag(p, "quiet"),
  };
}
