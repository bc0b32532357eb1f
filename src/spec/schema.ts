/**
 * The task file schema: the one source of truth for what a task document may contain, for the types the
 * rest of the program uses (`z.output`), and for the JSON Schema editors read (`z.input`, see
 * `json_schema.ts`). Parsing normalizes: durations become seconds, permission aliases become Claude Code's
 * mode names, follow-ups become objects, `review` and `sandbox` become objects.
 *
 * @module
 */
import { z } from "zod";
import { MAX_TIMEOUT_S } from "../config.ts";
import { parsePermission, PERMISSION_MODES } from "../sandbox/permission.ts";
import { AGENTS } from "../agents/registry.ts";
import { SLUG_PATTERN, slugProblem } from "../store/slug.ts";
import { closestMatch } from "../suggest.ts";
import { schemaProblems, validatorsLoaded } from "../runner/output_schema.ts";

/** The slug rule of the CLI's `--slug` (one definition, in `src/store/slug.ts`), exported to JSON Schema. */
export { SLUG_PATTERN };

/** A positive number with an optional unit: `90`, `90s`, `1.5m`, `1h` (the lookahead refuses zero). */
export const DURATION_PATTERN = /^(?=.*[1-9])([0-9]+(?:\.[0-9]+)?)([smh]?)$/;

/** Spellings of permission modes the CLI also accepts (see `parsePermission`). */
export const PERMISSION_ALIASES = ["dangerously-skip-permissions", "bypass"] as const;

const UNIT_SECONDS: Record<string, number> = { "": 1, s: 1, m: 60, h: 3600 };

/**
 * Reads a duration as a task file may write it, in seconds.
 *
 * @example
 * ```ts
 * parseDuration("10m"); // 600
 * parseDuration("90s"); // 90
 * parseDuration("1h"); // 3600
 * ```
 * @throws {RangeError} when the text is not a positive number with an optional unit s, m or h.
 */
export function parseDuration(text: string): number {
  const match = DURATION_PATTERN.exec(text.trim());
  if (!match) {
    throw new RangeError(
      `invalid duration "${text}": expected a positive number with a unit, like 90s, 10m or 1h`,
    );
  }
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2]];
  if (seconds > MAX_TIMEOUT_S) {
    throw new RangeError(`duration "${text}" is too long: at most ${MAX_TIMEOUT_S} seconds (about 24 days)`);
  }
  return seconds;
}

/** How a value reads in an error message: "a list", "number 5", "string \"x\"". */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "an empty value";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") {
    return `string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value)}`;
  }
  return `${typeof value} ${String(value)}`;
}

/** An error function for a schema's type check: says what was expected and what was there instead. */
function expected(what: string) {
  return (issue: { code?: string; input?: unknown }) => {
    if (issue.code !== undefined && issue.code !== "invalid_type" && issue.code !== "invalid_union") {
      return undefined;
    }
    return issue.input === undefined
      ? `is required (${what})`
      : `expected ${what}, got ${describeValue(issue.input)}`;
  };
}

function enumError(what: string, values: readonly string[]) {
  return (issue: { input?: unknown }) => {
    if (typeof issue.input !== "string") return `expected ${what}, got ${describeValue(issue.input)}`;
    const guess = closestMatch(issue.input, values);
    return `unknown ${what} "${issue.input}"${guess ? ` (did you mean "${guess}"?)` : ""}; expected one of: ${
      values.join(", ")
    }`;
  };
}

const Text = (what: string) =>
  z.string({ error: expected(what) }).regex(/\S/, { error: `must not be empty (${what})` });

/** The CLI's reason for refusing a slug, with the slug (shortened) for context. */
function slugMessage(slug: string): string {
  const shown = JSON.stringify(slug.length > 40 ? slug.slice(0, 40) + "…" : slug);
  return `${slugProblem(slug) ?? "is not a valid slug"}${slug.length ? ` (got ${shown})` : ""}`;
}

/** A project slug, with the CLI's rules and a message that says which rule was broken. */
export const SlugSchema = z.string({ error: expected("a slug") })
  .regex(SLUG_PATTERN, { error: (issue) => slugMessage(String(issue.input)) })
  .meta({
    description:
      "Project name: the folder under DISPATCH_PROJECTS_DIR and the key of the apply state. 1-100 characters of A-Z a-z 0-9 . _ -, not starting with '.' or '-', without '..'.",
    examples: ["todo-api"],
  });

const Prompt = Text("prompt text").meta({ description: "The prompt, inline." });
const PromptFile = Text("a file path").meta({
  description:
    "A file holding the prompt, relative to this task file's directory. Use either prompt or prompt_file.",
});

const permissionValues = [...PERMISSION_MODES, ...PERMISSION_ALIASES] as const;
const Permission = z.enum(permissionValues, { error: enumError("permission mode", permissionValues) })
  .transform((mode) => parsePermission(mode, "permission"))
  .meta({
    description:
      "Claude Code permission mode (least to most permissive: plan, dontAsk, default, acceptEdits, auto, bypassPermissions). Defaults to DISPATCH_PERMISSION.",
  });

const agentNames = Object.keys(AGENTS) as [keyof typeof AGENTS, ...(keyof typeof AGENTS)[]];
const Agent = z.enum(agentNames, { error: enumError("agent", agentNames) }).meta({
  description:
    "The specialist CLI: claude (Claude Code), codex (Codex CLI), gemini (Gemini CLI). Defaults to the project's, then DISPATCH_AGENT, then claude.",
});

const Duration = z.union([
  z.number().positive({ error: "must be a positive number of seconds" })
    .max(MAX_TIMEOUT_S, { error: `must be at most ${MAX_TIMEOUT_S} seconds (about 24 days)` }),
  z.string().regex(DURATION_PATTERN, {
    error: (issue) =>
      `invalid duration "${issue.input}": expected a positive number with a unit, like 90s, 10m or 1h`,
  }),
], { error: expected('a positive number of seconds or a duration like "90s", "10m", "1h"') })
  .transform((value, ctx) => {
    if (typeof value === "number") return value;
    try {
      return parseDuration(value);
    } catch (err) {
      ctx.issues.push({ code: "custom", message: (err as Error).message, input: value });
      return z.NEVER;
    }
  });

const Timeout = Duration.meta({
  description:
    'Time limit for the run: seconds, or a duration like "90s", "10m", "1h". Defaults to DISPATCH_TIMEOUT.',
  examples: [600, "10m"],
});

const Model = Text("a model name").meta({
  description: "Claude Code --model.",
  examples: ["sonnet", "opus"],
});

const MaxTurns = z.int({ error: expected("a whole number") })
  .positive({ error: "must be at least 1" })
  .meta({ description: "Claude Code --max-turns." });

const ToolList = (description: string) =>
  z.array(Text("a tool name"), { error: expected("a list of tool names") }).meta({
    description,
    examples: [["Read", "Grep", "Bash(git log:*)"]],
  });

/** A JSON Schema as a YAML mapping, checked against its meta-schema (an unknown `type` is a problem here). */
const OutputSchema = z.record(z.string(), z.unknown(), { error: expected("a JSON Schema (a mapping)") })
  .superRefine((value, ctx) => {
    // The loader loads the validators for a file that names a schema; every launch checks it again.
    if (!validatorsLoaded()) return;
    for (const message of schemaProblems(value)) ctx.addIssue({ code: "custom", message, input: value });
  })
  .meta({
    description:
      "A JSON Schema the step's final answer must match; the result then carries structured_output (Claude Code, Codex).",
    examples: [{ type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"] }],
  });

const VerifyObject = z.strictObject({
  command: Text("a shell command"),
  retries: z.int({ error: expected("a whole number") }).min(0, { error: "must be 0 or more" })
    .max(20, { error: "must be at most 20" }).optional().meta({
      description: "Extra rounds after a failed check (default 1).",
    }),
  timeout: Duration.optional().meta({
    description: "Time limit of one check (default and cap: what is left of the step's timeout).",
  }),
}, { error: expected("a mapping") });

/** A check after a successful step: a command string, `{command, retries, timeout}`, or false for none. */
const Verify = z.union([z.literal(false), Text("a shell command"), VerifyObject], {
  error: expected("a shell command, a mapping with command, retries, timeout, or false"),
}).transform((value) => value === false ? null : typeof value === "string" ? { command: value } : value).meta(
  {
    description:
      "A command (run with /bin/sh -c in the project, in the step's sandbox) that must exit 0 after a successful step; on failure the session is resumed with its output, up to `retries` more rounds. Needs apply --allow-commands.",
    examples: ["npm test", { command: "deno test -A", retries: 2, timeout: "5m" }],
  },
);

const OnDone = Text("a shell command").meta({
  description:
    "A command run (with /bin/sh -c, outside the sandbox) after each step's run ends, with the run's JSON on stdin. Needs apply --allow-commands.",
  examples: ['notify-send "dispatch-cc: $DISPATCH_SLUG $DISPATCH_STATUS"'],
});

const PROMPT_PAIR = "exactly one of prompt or prompt_file";

type PromptChoice = { prompt?: unknown; prompt_file?: unknown };

/** Whether a mapping holds prompt, prompt_file, or both. */
function promptsGiven(value: PromptChoice): number {
  return Number(value.prompt !== undefined) + Number(value.prompt_file !== undefined);
}

/** Runs the check even when other keys have problems (zod skips refinements then), but only on a mapping. */
const onMapping = {
  when: (payload: { value: unknown }) =>
    typeof payload.value === "object" && payload.value !== null && !Array.isArray(payload.value),
};

/**
 * Adds "exactly one of prompt or prompt_file" (`required` false: at most one). JSON Schema gets the same rule
 * through `oneOf`/`not`, since zod does not export refinements.
 */
function promptChoice<T extends z.ZodType<PromptChoice, PromptChoice>>(schema: T, required: boolean) {
  const notBoth = schema.refine((value) => promptsGiven(value) < 2, {
    ...onMapping,
    path: ["prompt_file"],
    error: `give ${PROMPT_PAIR}, not both`,
  });
  if (!required) return notBoth.meta({ not: { required: ["prompt", "prompt_file"] } });
  return notBoth.refine((value) => promptsGiven(value) > 0, { ...onMapping, error: `needs ${PROMPT_PAIR}` })
    .meta({ oneOf: [{ required: ["prompt"] }, { required: ["prompt_file"] }] });
}

const When = z.enum(["success", "always"], { error: enumError("when", ["success", "always"]) }).meta({
  description:
    "success (default): run only if every step before it succeeded; always: run even after a failed step.",
});

const FollowUpObject = promptChoice(
  z.strictObject({
    prompt: Prompt.optional(),
    prompt_file: PromptFile.optional(),
    timeout: Timeout.optional(),
    permission: Permission.optional(),
    model: Model.optional(),
    max_turns: MaxTurns.optional(),
    when: When.optional(),
    output_schema: OutputSchema.optional(),
    verify: Verify.optional(),
  }, { error: expected("a mapping") }),
  true,
);

/** A follow-up: a prompt sent on the same session after the previous step. */
export const FollowUpSchema = z.union([Text("prompt text"), FollowUpObject], {
  error: expected("a prompt string or a mapping with prompt or prompt_file"),
}).transform((value) =>
  typeof value === "string"
    ? { prompt: value, when: "success" as const }
    : { ...value, when: value.when ?? "success" }
).meta({
  description:
    "A prompt sent on the same session after the previous step: a string, or a mapping with its own overrides.",
});

const ReviewObject = promptChoice(
  z.strictObject({
    prompt: Prompt.optional(),
    prompt_file: PromptFile.optional(),
    model: Model.optional(),
    permission: Permission.optional(),
    output_schema: OutputSchema.optional(),
    verify: Verify.optional(),
  }, { error: expected("a mapping") }),
  false,
);

/** The closing review: `true` for the default review, or a mapping; `false` or absent for none. */
export const ReviewSchema = z.union([z.boolean(), ReviewObject], {
  error: expected("true, false or a mapping with prompt, prompt_file, model, permission"),
}).transform((value) => value === false ? null : value === true ? {} : value).meta({
  description:
    "An independent review in a new session after the last step (read-only by default): true, or a mapping with its own prompt, model, permission.",
});

const SandboxObject = z.strictObject({
  network: z.boolean({ error: expected("true or false") }).optional().meta({
    description: "Whether commands in the sandbox may use the network (default true).",
  }),
}, { error: expected("a mapping") });

/** The OS sandbox: `true`/`false`, or `{network: false}` to also cut the network. */
export const SandboxSchema = z.union([z.boolean(), SandboxObject], {
  error: expected("true, false or a mapping with network"),
}).transform((value) =>
  typeof value === "boolean"
    ? { enabled: value, network: true }
    : { enabled: true, network: value.network ?? true }
).meta({
  description:
    "Run Claude Code in the OS sandbox (writes confined to the project): true, false, or {network: false}.",
});

const EnvName = z.string({ error: expected("an environment variable name") })
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, {
    error: (issue) => `invalid environment variable name "${issue.input}"`,
  });

/** One task document. */
export const TaskSpecSchema = promptChoice(
  z.strictObject({
    slug: SlugSchema,
    description: z.string({ error: expected("a string") }).optional().meta({
      description:
        "One line about the project; written to project.json and CLAUDE.md when the project is created.",
    }),
    agent: Agent.optional(),
    prompt: Prompt.optional(),
    prompt_file: PromptFile.optional(),
    system_prompt: Text("prompt text").optional().meta({
      description: "Appended to Claude Code's system prompt.",
    }),
    permission: Permission.optional(),
    allowed_tools: ToolList("Claude Code --allowed-tools.").optional(),
    disallowed_tools: ToolList("Claude Code --disallowed-tools.").optional(),
    model: Model.optional(),
    timeout: Timeout.optional(),
    max_turns: MaxTurns.optional(),
    max_budget_usd: z.number({ error: expected("a number") }).positive({ error: "must be more than 0" })
      .optional()
      .meta({ description: "Claude Code --max-budget-usd, per run." }),
    env: z.array(EnvName, { error: expected("a list of environment variable names") }).optional().meta({
      description:
        "Names of environment variables to pass to Claude Code (values come from dispatch-cc's environment).",
      examples: [["GITHUB_TOKEN"]],
    }),
    sandbox: SandboxSchema.optional(),
    repo: z.string({ error: expected("a path") }).min(1, { error: "must not be empty" }).optional().meta({
      description:
        "Work in this git repository (relative to the task file): the project is a worktree of it " +
        "on branch dispatch/<slug> (like run --repo).",
    }),
    base: z.string({ error: expected("a git revision") }).min(1, { error: "must not be empty" }).optional()
      .meta({ description: "With repo: the commit the branch starts at (default the repository's HEAD)." }),
    follow_ups: z.array(FollowUpSchema, { error: expected("a list of follow-ups") }).optional().meta({
      description: "Prompts sent in order on the same session after the first one.",
    }),
    review: ReviewSchema.optional(),
    output_schema: OutputSchema.optional(),
    verify: Verify.optional(),
    on_done: OnDone.optional(),
  }, { error: expected("a mapping of task keys (slug, prompt, ...)") }),
  true,
).meta({
  title: "dispatch-cc task",
  description:
    "One task for `dispatch-cc apply`: a first prompt, follow-ups on the same session, an optional review.",
});

/** A task document as written in a file. */
export type TaskSpecInput = z.input<typeof TaskSpecSchema>;
/** A task document after parsing: durations in seconds, permissions normalized, follow-ups as objects. */
export type TaskSpec = z.output<typeof TaskSpecSchema>;
/** A follow-up after parsing (`when` filled in). */
export type FollowUp = z.output<typeof FollowUpSchema>;
/** A review after parsing (`null` means no review). */
export type ReviewSpec = NonNullable<z.output<typeof ReviewSchema>>;
/** A step's check after parsing (`null`: none). */
export type VerifySpec = NonNullable<z.output<typeof Verify>>;
/** The sandbox setting after parsing. */
export type SandboxSpec = z.output<typeof SandboxSchema>;

/** A zod issue, after `flattenIssues`. */
export type TaskIssue = z.core.$ZodIssue;

/**
 * Replaces a union's "none of the branches matched" by the issues of the one branch that matched the
 * value's type, so that `follow_ups: [{prompt: x, timeout: true}]` reports the timeout rather than "not a
 * string or a mapping". Zod does this itself only when that branch's issues are all non-fatal.
 *
 * @example
 * ```ts
 * const result = TaskSpecSchema.safeParse({ slug: "a", prompt: "x", sandbox: { network: "no" } });
 * flattenIssues(result.error!.issues)[0].path; // ["sandbox", "network"]
 * ```
 */
export function flattenIssues(issues: readonly TaskIssue[], base: readonly PropertyKey[] = []): TaskIssue[] {
  return issues.flatMap((issue) => {
    const path = [...base, ...issue.path];
    if (issue.code === "invalid_union") {
      const viable = issue.errors.filter((branch) =>
        !branch.every((inner) => inner.code === "invalid_type" && inner.path.length === 0)
      );
      if (viable.length === 1) return flattenIssues(viable[0], path);
    }
    return [{ ...issue, path } as TaskIssue];
  });
}
