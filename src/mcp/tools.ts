/**
 * The MCP tools: one per command, named as the command, whose inputs are the command's own options in
 * snake_case (derived from its option table, so a new option appears here without an edit), turned back
 * into the command's argv so that the command parses, checks and runs them exactly as on the command line.
 *
 * @module
 */
import { z } from "zod";
import type { Command } from "../cli/context.ts";
import type { OptionSpec } from "../cli/options.ts";

/** Options that make sense only on a terminal, or that the MCP tool replaces (`detach`, `follow`: wait_s). */
const NOT_OFFERED = new Set(["json", "help", "verbose", "progress", "quiet", "detach", "follow"]);

/**
 * Options that widen what a run may do or reach: lifting the permission ceiling, turning the OS sandbox off
 * or swapping it for a weaker one, passing the server's variables or files to the specialist, letting task
 * files do so. On the command line the caller already has a shell; over MCP the caller may have only these
 * tools, so they are the person's decision (the server's environment: DISPATCH_MAX_PERMISSION,
 * DISPATCH_SANDBOX), never the model's. A model that sends one gets a tool error (inputs are strict).
 */
export const WIDENING = new Set([
  "allow-dangerous",
  "no-sandbox",
  "claude-sandbox",
  "env",
  "allow-env",
  "allow-path",
  "prompt-file",
  // apply's `--set env=...` / `--set prompt_file=...` are the caller's own choice, past the task-file checks.
  "set",
  // A completion hook runs outside every sandbox as the server's user; task files' verify/on_done commands
  // run only with the caller's leave. Both are the person's (DISPATCH_ON_DONE), never the model's.
  "on-done",
  "allow-commands",
]);

/** Option arguments that are numbers: offered as JSON numbers. */
const NUMERIC_ARGS = new Set(["N", "SECONDS", "USD"]);

/** How long run, resume, review, apply and wait wait by default: under the 60 s many clients allow a call. */
export const DEFAULT_WAIT_S = 50;

/** A positional argument of a command, offered as a named input. */
export interface PositionalInput {
  name: string;
  many: boolean;
  description: string;
}

/** What the MCP layer adds to a command: the text a model reads, and how inputs map to the argv. */
export interface ToolDef {
  name: string;
  load: () => Promise<Command>;
  /** For the model: what the tool does and when to use it. */
  description: string;
  /** Inputs that must be given (snake_case). */
  required?: string[];
  positional?: PositionalInput;
  /** Option name -> input name, where the command-line name would mislead a model. */
  rename?: Record<string, string>;
  /** The tool waits for a run: takes `wait_s`. */
  waits?: boolean;
}

const RUN_NEXT = "If the run is still going on when wait_s passes, the result is its record with status " +
  '"starting" or "running" (exit_code 7 in the tool\'s terms: not finished) and its run_id: call `wait` ' +
  "with the slug (and run_id) to pick it up; the run is never stopped by the wait ending (use `cancel`).";

/** Every tool, in the order a model meets them. */
export const TOOL_DEFS: ToolDef[] = [
  {
    name: "run",
    load: () => import("../cli/run.ts").then((m) => m.runCommand),
    description: "Start work in a project (created if new) with a new Claude Code session on `prompt`, and " +
      "return its outcome: status (success, error, blocked, max_turns, timeout, ...), result text, " +
      "session, cost, files written, permission denials. " + RUN_NEXT,
    required: ["slug"],
    rename: { wait: "wait_for_lock" },
    waits: true,
  },
  {
    name: "resume",
    load: () => import("../cli/resume.ts").then((m) => m.resumeCommand),
    description: "Continue the project's work session with a new prompt (feedback, next step, fix). " +
      "Same outcome as run. " + RUN_NEXT,
    required: ["slug"],
    rename: { wait: "wait_for_lock" },
    waits: true,
  },
  {
    name: "review",
    load: () => import("../cli/review.ts").then((m) => m.reviewCommand),
    description: "Independent review of a project in a new read-only session (permission plan); the " +
      "work session is kept for resume. The prompt is optional (a default review prompt is used). " +
      RUN_NEXT,
    required: ["slug"],
    rename: { wait: "wait_for_lock" },
    waits: true,
  },
  {
    name: "apply",
    load: () => import("../cli/apply.ts").then((m) => m.applyCommand),
    description: "Run task files (YAML: first prompt, follow-ups, review per task), resumable. Validates " +
      "first (problems: nothing runs). The apply runs in the background; when every project's steps end " +
      "within wait_s, the result is each project's last run; otherwise the started document " +
      '(status "started", each slug with its run_id): call `wait` per slug.',
    positional: { name: "files", many: true, description: "task files (absolute paths are safest)" },
    required: ["files"],
    rename: { wait: "wait_for_lock" },
    waits: true,
  },
  {
    name: "wait",
    load: () => import("../cli/wait.ts").then((m) => m.waitCommand),
    description: "Wait up to wait_s seconds for the project's running run (or the run run_id) to end and " +
      "return its outcome as run does. Still going on when wait_s passes: its record with status " +
      '"running" (or "starting"): call wait again. The run is never stopped by waiting.',
    required: ["slug"],
    rename: { run: "run_id", timeout: "" },
    waits: true,
  },
  {
    name: "status",
    load: () => import("../cli/status.ts").then((m) => m.statusCommand),
    description: "One project: folder, session, last run and its result, cost and tokens over every run.",
    required: ["slug"],
  },
  {
    name: "list",
    load: () => import("../cli/list.ts").then((m) => m.listCommand),
    description: "Every project with its last activity, last status and description.",
  },
  {
    name: "search",
    load: () => import("../cli/search.ts").then((m) => m.searchCommand),
    description: "Projects whose slug, description or results contain a keyword (case-insensitive).",
    positional: { name: "keyword", many: false, description: "the text to look for" },
    required: ["keyword"],
  },
  {
    name: "logs",
    load: () => import("../cli/logs.ts").then((m) => m.logsCommand),
    description: "A run's transcript as lines (assistant text, tool calls, tool errors, denials, result); " +
      "`json: true` gives Claude Code's events instead. The last `tail` lines (default 200).",
    required: ["slug"],
    rename: { run: "run_id", json: "events" },
  },
  {
    name: "cancel",
    load: () => import("../cli/cancel.ts").then((m) => m.cancelCommand),
    description: "Stop the project's running dispatch and everything it started; its session can be resumed.",
    required: ["slug"],
  },
  {
    name: "history",
    load: () => import("../cli/history.ts").then((m) => m.historyCommand),
    description: "Every run of a project: command, start, duration, status, turns, cost, tokens.",
    required: ["slug"],
  },
  {
    name: "validate",
    load: () => import("../cli/validate.ts").then((m) => m.validateCommand),
    description: "Check task files and report every problem as file:line:col: message; runs nothing.",
    positional: { name: "files", many: true, description: "task files (absolute paths are safest)" },
    required: ["files"],
  },
];

/** The snake_case input name of a command-line option (empty: not offered). */
export function inputName(def: ToolDef, option: string): string {
  if (def.rename && Object.hasOwn(def.rename, option)) return def.rename[option];
  if (NOT_OFFERED.has(option) && !(def.name === "logs" && option === "json")) return "";
  if (WIDENING.has(option)) return "";
  return option.replaceAll("-", "_");
}

function optionSchema(spec: OptionSpec): z.ZodType {
  const described = (s: z.ZodType) => s.optional().describe(spec.help);
  if (spec.type === "boolean") return described(z.boolean());
  if (spec.multiple) return described(z.array(z.string()));
  if (spec.arg && NUMERIC_ARGS.has(spec.arg)) return described(z.number());
  // A duration: seconds as a number (what a model sends), or "90s", "10m", "1h".
  if (spec.arg === "DURATION") return described(z.union([z.number(), z.string()]));
  return described(z.string());
}

/** The tool's input shape: the command's options in snake_case, its positional, and `wait_s`. */
export function inputShape(def: ToolDef, command: Command): Record<string, z.ZodType> {
  const shape: Record<string, z.ZodType> = {};
  const required = new Set(def.required ?? []);
  for (const [option, spec] of Object.entries(command.options)) {
    const name = inputName(def, option);
    if (!name) continue;
    let schema = optionSchema(spec);
    if (name === "events") schema = z.boolean().optional().describe("Claude Code's events as they are");
    if (required.has(name)) schema = (schema as z.ZodOptional<z.ZodType>).unwrap().describe(spec.help);
    shape[name] = schema;
  }
  if (def.positional) {
    const p = def.positional;
    const base = p.many ? z.array(z.string()).min(1) : z.string();
    shape[p.name] = (required.has(p.name) ? base : base.optional()).describe(p.description);
  }
  if (def.name === "logs") {
    shape.tail = z.number().int().positive().optional().describe("show the last N lines (default 200)");
  }
  if (def.waits) {
    shape.wait_s = z.number().min(0).max(3600).optional().describe(
      `seconds to wait for the run to end before returning (default ${DEFAULT_WAIT_S}; 0: return at once)`,
    );
  }
  return shape;
}

/**
 * The command's argv for the given inputs: `--option=value` (so a value starting with "-" stays a
 * value), repeated for lists, flags for true, then `extra` (flags the server adds), and positionals after
 * `--`.
 */
export function argvFor(
  def: ToolDef,
  command: Command,
  input: Record<string, unknown>,
  extra: string[] = [],
): string[] {
  const argv: string[] = [];
  for (const [option, spec] of Object.entries(command.options)) {
    const name = inputName(def, option);
    if (!name || !Object.hasOwn(input, name)) continue;
    const value = input[name];
    if (value === undefined || value === null) continue;
    if (spec.type === "boolean") {
      if (value === true) argv.push(`--${option}`);
    } else if (Array.isArray(value)) {
      for (const v of value) argv.push(`--${option}=${String(v)}`);
    } else argv.push(`--${option}=${String(value)}`);
  }
  argv.push(...extra);
  const p = def.positional;
  if (p && input[p.name] !== undefined) {
    argv.push("--", ...(Array.isArray(input[p.name]) ? input[p.name] as string[] : [String(input[p.name])]));
  }
  return argv;
}

/** The document of a run (run, resume, review, wait): the run record, or a run's start. */
const runDoc = z.looseObject({
  version: z.number(),
  run_id: z.string().optional().describe("the run: give it to wait, logs"),
  slug: z.string().optional(),
  status: z.string().optional().describe(
    "success, error, blocked, max_turns, budget_exceeded, timeout, cancelled, ...; starting/running: " +
      "still going on (call wait); failed: the call was refused",
  ),
  exit_code: z.number().nullable().optional(),
  result: z.string().nullable().optional().describe("the specialist's final answer"),
  session_id: z.string().nullable().optional(),
  error: z.unknown().optional(),
});

/** Every tool's output schema: the `--json` document's main fields (documents keep all their fields). */
export const OUTPUT_SCHEMAS: Record<string, z.ZodObject> = {
  run: runDoc,
  resume: runDoc,
  review: runDoc,
  wait: runDoc,
  apply: z.looseObject({
    version: z.number(),
    status: z.string().optional().describe('"started" (still going on: wait per slug) or "ended"'),
    exit_code: z.number().nullable().optional(),
    slugs: z.array(z.looseObject({ slug: z.string(), run_id: z.string().optional() })).optional(),
    problems: z.array(z.unknown()).optional(),
  }),
  status: z.looseObject({ version: z.number(), slug: z.string().optional() }),
  list: z.looseObject({ version: z.number(), projects: z.array(z.unknown()).optional() }),
  search: z.looseObject({ version: z.number(), matches: z.array(z.unknown()).optional() }),
  logs: z.looseObject({
    version: z.number(),
    slug: z.string().optional(),
    run_id: z.string().optional(),
    lines: z.array(z.string()).optional(),
    events: z.array(z.unknown()).optional(),
    truncated: z.boolean().optional(),
  }),
  cancel: z.looseObject({ version: z.number(), cancelled: z.boolean().optional() }),
  history: z.looseObject({ version: z.number(), runs: z.array(z.unknown()).optional() }),
  validate: z.looseObject({
    version: z.number(),
    ok: z.boolean().optional(),
    problems: z.array(z.unknown()).optional(),
  }),
};
