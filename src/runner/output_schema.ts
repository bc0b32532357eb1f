/**
 * Structured output (issue 16 part 1): the JSON Schema a run's final answer must satisfy. A schema is read
 * from `--output-schema` (inline JSON or `@FILE`) or a task file's `output_schema:`, checked against its
 * meta-schema before anything runs, handed to an agent that validates answers itself (Claude Code's
 * `--json-schema`), and the object the agent returned is validated again here: the agent's word is not
 * taken for it.
 *
 * Validation is ajv's (draft 2020-12 by default; draft-07 and 2019-09 when the schema's `$schema` says so).
 *
 * @module
 */
import type { Agent } from "../agents/agent.ts";
import { UsageError } from "../errors.ts";
import { EXIT } from "../exit_codes.ts";
import { resolve } from "../paths.ts";
import type { Outcome } from "./classify.ts";
import type { RunFold } from "./fold.ts";

export type JsonSchema = Record<string, unknown>;

// deno-lint-ignore no-explicit-any
type AnyAjv = any;

// ajv takes ~0.3-0.7 s to load: only runs and task files that name a schema load it.
let ajv: { draft7: AnyAjv; draft2019: AnyAjv; draft2020: AnyAjv } | null = null;

/** Loads the validators (once); every function here but {@linkcode schemaProblems} does it itself. */
export async function loadValidators(): Promise<void> {
  if (ajv) return;
  const [d7, d2019, d2020] = await Promise.all([
    import("ajv"),
    import("ajv/dist/2019.js"),
    import("ajv/dist/2020.js"),
  ]);
  ajv = { draft7: d7.default, draft2019: d2019.Ajv2019, draft2020: d2020.Ajv2020 };
}

/** Whether {@linkcode loadValidators} has run (task-file parsing checks schemas only then). */
export const validatorsLoaded = (): boolean => ajv !== null;

/** One validator per draft: `strict: false` (unknown keywords and formats are allowed, as the drafts say). */
function validatorFor(schema: JsonSchema): AnyAjv {
  if (!ajv) throw new Error("internal: loadValidators() was not called before a schema check");
  const opts = { strict: false, logger: false as const, allErrors: true, validateFormats: false };
  const draft = typeof schema.$schema === "string" ? schema.$schema : "";
  if (/draft-0[467]/.test(draft)) return new ajv.draft7(opts);
  if (/2019-09/.test(draft)) return new ajv.draft2019(opts);
  return new ajv.draft2020(opts);
}

/** ajv's errors as one short line: `/files: must be array; /ok: must be boolean`. */
function errorsLine(
  errors: readonly { instancePath?: string; message?: string }[] | null | undefined,
): string {
  const seen = new Set<string>();
  for (const e of errors ?? []) seen.add(`${e.instancePath || "/"}: ${e.message ?? "is invalid"}`);
  const all = [...seen];
  return all.slice(0, 5).join("; ") + (all.length > 5 ? `; and ${all.length - 5} more` : "");
}

/**
 * What is wrong with a JSON Schema (empty when nothing; after {@linkcode loadValidators}): not a mapping, not valid against its meta-schema
 * (an unknown `type`, a `required` that is not a list), or not compilable (a `$ref` that leads nowhere).
 *
 * @example
 * ```ts
 * await loadValidators();
 * schemaProblems({ type: "object" }); // []
 * schemaProblems({ type: "objekt" }); // ["/type: must be equal to one of the allowed values", ...]
 * ```
 */
export function schemaProblems(schema: unknown): string[] {
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) {
    return ["a JSON Schema must be a JSON object (a mapping)"];
  }
  const ajv = validatorFor(schema as JsonSchema);
  let valid: boolean;
  try {
    valid = ajv.validateSchema(schema) as boolean;
  } catch (err) {
    return [(err as Error).message];
  }
  if (!valid) {
    return [`not a valid JSON Schema: ${errorsLine(ajv.errors).replaceAll("/: ", "")}`];
  }
  try {
    ajv.compile(schema);
  } catch (err) {
    return [`not a usable JSON Schema: ${(err as Error).message}`];
  }
  return [];
}

/**
 * Reads `--output-schema`: inline JSON, or `@FILE` (relative to the user's folder). Throws UsageError (exit
 * 2) for unreadable files, text that is not JSON, and schemas that are not valid JSON Schema.
 *
 * @example
 * ```ts
 * await readOutputSchema('{"type":"object","required":["ok"]}', "/home/me"); // { type: "object", ... }
 * await readOutputSchema("@schema.json", "/home/me"); // reads /home/me/schema.json
 * ```
 */
export async function readOutputSchema(
  value: string,
  userCwd: string,
  readFile: (path: string) => Promise<string> = Deno.readTextFile,
  what = "--output-schema",
): Promise<JsonSchema> {
  let text = value;
  let source = what;
  if (value.startsWith("@")) {
    const path = resolve(userCwd, value.slice(1));
    source = `${what} ${value}`;
    try {
      text = await readFile(path);
    } catch (err) {
      const why = err instanceof Deno.errors.NotFound ? "no such file" : (err as Error).message;
      throw new UsageError(`cannot read ${source} (${path}): ${why}`);
    }
  }
  await loadValidators();
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch (err) {
    throw new UsageError(
      `${source} is not JSON (${(err as Error).message}); give a JSON Schema inline or as @FILE`,
    );
  }
  const problems = schemaProblems(schema);
  if (problems.length) throw new UsageError(`${source}: ${problems.join("; ")}`);
  return schema as JsonSchema;
}

/**
 * Why `value` does not satisfy `schema`, or null when it does.
 *
 * @example
 * ```ts
 * await valueProblems({ type: "object", required: ["ok"] }, {}); // "/: must have required property 'ok'"
 * ```
 */
export async function valueProblems(schema: JsonSchema, value: unknown): Promise<string | null> {
  await loadValidators();
  const ajv = validatorFor(schema);
  const validate = ajv.compile(schema);
  return validate(value) ? null : errorsLine(validate.errors);
}

/**
 * Refuses an output schema that is not valid JSON Schema, or for an agent that cannot enforce one (before
 * anything is written; every launch is planned through here, whatever the schema came from).
 */
export async function checkOutputSchema(agent: Agent, schema: JsonSchema | undefined): Promise<void> {
  if (schema === undefined) return;
  await loadValidators();
  const problems = schemaProblems(schema);
  if (problems.length) throw new UsageError(`output schema: ${problems.join("; ")}`);
  if (!agent.supportsOutputSchema) {
    throw new UsageError(
      `${agent.displayName} cannot return structured output here: --output-schema / output_schema needs an ` +
        "agent that checks its answer against a JSON Schema itself (Claude Code); run without it, or with that agent",
    );
  }
}

/**
 * The structured output of a finished run, checked against its schema. A run that the agent called a
 * success but that ended without a valid object becomes `error` with the reason (the outcome is changed
 * in place); the object is returned whatever the outcome, so that a record shows what came back.
 */
export async function checkStructuredOutput(
  outcome: Outcome,
  fold: RunFold,
  schema: JsonSchema | undefined,
): Promise<{ structured_output: unknown } | Record<string, never>> {
  const result = outcome.status === "tampered" ? undefined : fold.results[0];
  const value = result?.structured_output;
  if (schema === undefined) return value === undefined ? {} : { structured_output: value };
  const fail = (why: string) => {
    if (outcome.status === "success") {
      Object.assign(outcome, { status: "error", exit_code: EXIT.specialistError, error: why });
    }
  };
  if (outcome.status === "error" && result?.subtype === "error_max_structured_output_retries") {
    outcome.error = "the specialist never returned an object matching --output-schema " +
      "(it gave up after its retries: error_max_structured_output_retries)";
  }
  if (value === undefined || value === null) {
    fail("the run ended without structured output (no object matching the output schema was returned)");
    return { structured_output: null };
  }
  const problem = await valueProblems(schema, value);
  if (problem) fail(`the structured output does not match the output schema: ${problem}`);
  return { structured_output: value };
}
