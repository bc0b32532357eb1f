/**
 * The cores of `dispatch-cc validate FILE...` and `dispatch-cc schema`, without option parsing or output.
 *
 * @module
 */
import { taskJsonSchemaText } from "./json_schema.ts";
import { loadTaskFiles, type Problem, type ReadTextFile, type StatFile, type TaskFileTrust } from "./load.ts";

/** What `validate` found: `ok` when there are no problems; `tasks` counts the valid tasks. */
export interface ValidateResult {
  ok: boolean;
  problems: Problem[];
  tasks: number;
}

/**
 * Checks task files and reports every problem in every file (see `formatProblem` for the line format).
 *
 * @example
 * ```ts
 * const result = await validateFiles(["tasks.example/multi.yaml"]);
 * result.ok; // true
 * result.tasks; // 2
 * ```
 */
export async function validateFiles(
  paths: readonly string[],
  readFile: ReadTextFile = Deno.readTextFile,
  statFile: StatFile = Deno.stat,
  trust: TaskFileTrust = {},
): Promise<ValidateResult> {
  const { tasks, problems } = await loadTaskFiles(paths, readFile, statFile, {}, trust);
  return { ok: problems.length === 0, problems, tasks: tasks.length };
}

/**
 * The task file JSON Schema, pretty-printed with a final newline, as committed in
 * `tasks.example/task.schema.json`.
 */
export function schemaText(): string {
  return taskJsonSchemaText();
}
