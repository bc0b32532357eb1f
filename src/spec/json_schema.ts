/**
 * The task file schema as JSON Schema (draft-07), for editors: `tasks.example/task.schema.json` is
 * this, committed; a test fails when they drift. Regenerate with
 * `deno run -A src/spec/json_schema.ts > tasks.example/task.schema.json`.
 *
 * @module
 */
import { z } from "zod";
import { TaskSpecSchema } from "./schema.ts";

/**
 * The JSON Schema of one task document, describing what may be written (the input side of the zod schema).
 *
 * @example
 * ```ts
 * const schema = taskJsonSchema();
 * Object.keys(schema.properties as object).includes("follow_ups"); // true
 * ```
 */
export function taskJsonSchema(): Record<string, unknown> {
  // draft-07: the draft editors' YAML support (yaml-language-server) handles best.
  return z.toJSONSchema(TaskSpecSchema, { io: "input", target: "draft-07" }) as Record<string, unknown>;
}

/** The JSON Schema as the text of `task.schema.json` (and of `dispatch-cc schema`). */
export function taskJsonSchemaText(): string {
  return JSON.stringify(taskJsonSchema(), null, 2) + "\n";
}

if (import.meta.main) {
  await Deno.stdout.write(new TextEncoder().encode(taskJsonSchemaText()));
}
