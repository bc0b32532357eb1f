/**
 * Loading task files: YAML documents to validated, normalized tasks, or every problem found with the file,
 * line and column a person (or an editor) can jump to.
 *
 * @module
 */
import { loadValidators } from "../runner/output_schema.ts";
import { dirname, resolve } from "../paths.ts";
import { isInheritedName } from "../sandbox/env.ts";
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, visit } from "yaml";
import type { Document, Node as YamlNode } from "yaml";
import type { z } from "zod";
import {
  flattenIssues,
  type FollowUp,
  type ReviewSpec,
  type TaskIssue,
  type TaskSpec,
  TaskSpecSchema,
} from "./schema.ts";
import { closestMatch } from "../suggest.ts";

/** Task files (and prompt files) larger than this are refused before they are read. */
export const MAX_TASK_FILE_BYTES = 1024 * 1024;

/** Shared YAML aliases expand on conversion; past this many, the document is treated as an alias bomb. */
export const MAX_ALIAS_COUNT = 100;

/** One thing wrong with a task file, at a 1-based line and column. */
export interface Problem {
  file: string;
  line: number;
  col: number;
  message: string;
}

/** A follow-up with its prompt text read (from `prompt_file` when given; `prompt_file` is then absolute). */
export type ResolvedFollowUp = Omit<FollowUp, "prompt"> & { prompt: string };

/** A review with its prompt text read; no `prompt` means the default review prompt. */
export type ResolvedReview = ReviewSpec;

/**
 * A task ready to apply. Absent optional fields mean "the command's default" (DISPATCH_TIMEOUT,
 * DISPATCH_PERMISSION, ...); follow-up fields that are absent inherit the task's.
 */
export type ResolvedTask = Omit<TaskSpec, "prompt" | "follow_ups" | "review" | "env"> & {
  /** The prompt text, read from `prompt_file` when that was given (then `prompt_file` is absolute). */
  prompt: string;
  follow_ups: ResolvedFollowUp[];
  review: ResolvedReview | null;
  env: string[];
};

/** A task loaded from a file, with where it came from. */
export interface LoadedTask {
  spec: ResolvedTask;
  /** The task file's path as given. */
  file: string;
  /** Position of the document in the file, from 0. */
  index: number;
  /** Line where the document's content starts, from 1. */
  line: number;
  /** Where the `slug` value is, for problems that point at it. */
  slugAt: { line: number; col: number };
  /**
   * Where each `permission` value is, keyed by its path (`permission`, `follow_ups[0].permission`,
   * `review.permission`), so that a refusal (the ceiling) names `file:line:col`.
   */
  permissionAt?: Record<string, { line: number; col: number }>;
}

/** The result of loading: tasks that are valid and every problem found (tasks are only usable if none). */
export interface LoadResult {
  tasks: LoadedTask[];
  problems: Problem[];
}

/**
 * What the caller lets task files reach beyond their own folder and the child's usual environment. A task
 * file is someone else's text: without these, it can read only files in its own folder (symlinks resolved)
 * and pass only the variables the child gets anyway (`src/sandbox/env.ts`).
 */
export interface TaskFileTrust {
  /** Variable names task files may pass to the specialist (`--allow-env`, `--env`). */
  allowEnv?: readonly string[];
  /** More folders (absolute real paths) task files may read prompt files from (`--allow-path`). */
  allowPaths?: readonly string[];
  /** Resolves symlinks (`Deno.realPath` by default). */
  realPath?: (path: string) => Promise<string>;
  /** `--allow-commands`: the task files' `verify:` and `on_done:` commands may run (they run as you). */
  allowCommands?: boolean;
}

/** Reads a file as text (`Deno.readTextFile` by default). */
export type ReadTextFile = (path: string) => Promise<string>;
/** Tells a file's size and kind before it is read (`Deno.stat` by default). */
export type StatFile = (path: string) => Promise<{ size: number; isFile: boolean }>;

/**
 * A problem as a line for a terminal or an editor's problem matcher.
 *
 * @example
 * ```ts
 * formatProblem({ file: "t.yaml", line: 3, col: 1, message: 'unknown key "promt" (did you mean "prompt"?)' });
 * // 't.yaml:3:1: unknown key "promt" (did you mean "prompt"?)'
 * ```
 */
export function formatProblem(p: Problem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.message}`;
}

function byPosition(a: Problem, b: Problem): number {
  return a.line - b.line || a.col - b.col;
}

function describeError(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "not found";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.IsADirectory) return "is a directory";
  return error instanceof Error ? error.message : String(error);
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Reads a file after checking it is a regular file within the size limit; a string is the reason it was not. */
async function readChecked(
  path: string,
  readFile: ReadTextFile,
  statFile: StatFile,
): Promise<{ text: string } | { error: string }> {
  try {
    const info = await statFile(path);
    if (!info.isFile) return { error: "is not a regular file" };
    if (info.size > MAX_TASK_FILE_BYTES) {
      return { error: `is ${mib(info.size)}, over the ${mib(MAX_TASK_FILE_BYTES)} limit` };
    }
    return { text: await readFile(path) };
  } catch (error) {
    return { error: describeError(error) };
  }
}

type Path = readonly PropertyKey[];

/** `follow_ups[1].timeout` */
function formatPath(path: Path): string {
  return path.map((seg, i) => typeof seg === "number" ? `[${seg}]` : `${i > 0 ? "." : ""}${String(seg)}`)
    .join("");
}

type YamlMapNode = Extract<YamlNode, { items: unknown[] }> & { items: { key: unknown; value: unknown }[] };

// A mapping's pairs by key, built once per mapping: looking each key up by a linear search made a file of
// 30,000 keys take seconds per thousand problems.
const PAIRS = new WeakMap<object, Map<string, { key: unknown; value: unknown }>>();
function pairsOf(map: YamlMapNode): Map<string, { key: unknown; value: unknown }> {
  let pairs = PAIRS.get(map);
  if (!pairs) {
    pairs = new Map();
    for (const p of map.items) {
      if (isScalar(p.key) && !pairs.has(String(p.key.value))) pairs.set(String(p.key.value), p);
    }
    PAIRS.set(map, pairs);
  }
  return pairs;
}

/**
 * Offsets of the keys that repeat an earlier key of the same mapping. The yaml parser's own check
 * (`uniqueKeys`) compares each key with every earlier one: quadratic, 100 s for 30,000 keys. This is one
 * Set per mapping; scalar keys compare by value, as the parser's check does.
 */
function duplicateKeyOffsets(doc: Document): number[] {
  const found: number[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const p of map.items) {
        if (!isScalar(p.key)) continue;
        const k = p.key.value;
        if (seen.has(k) && p.key.range) found.push(p.key.range[0]);
        seen.add(k);
      }
    },
  });
  return found;
}

/** Positions within one parsed document. */
class DocumentPositions {
  constructor(private doc: Document, private lines: LineCounter) {}

  at(offset: number): { line: number; col: number } {
    return this.lines.linePos(offset);
  }

  /** Where the document's content starts (for an empty document, its `---`). */
  start(): { line: number; col: number } {
    const contents = this.doc.contents;
    const hasContent = contents && !(isScalar(contents) && contents.value === null);
    return this.at((hasContent ? contents.range?.[0] : undefined) ?? this.doc.range?.[0] ?? 0);
  }

  /**
   * The node at `path` and the key node naming it; stops at the deepest node that exists (a missing key
   * reports at its mapping) and at aliases (the problem is reported where the alias is used).
   */
  find(path: Path): { node: YamlNode | null; key: YamlNode | null; found: boolean } {
    let node = this.doc.contents as YamlNode | null;
    let key: YamlNode | null = null;
    for (const seg of path) {
      if (isMap(node)) {
        const pair = pairsOf(node).get(String(seg));
        if (!pair) return { node, key, found: false };
        key = pair.key as YamlNode;
        node = pair.value as YamlNode | null;
      } else if (isSeq(node) && typeof seg === "number" && seg < node.items.length) {
        key = null;
        node = node.items[seg] as YamlNode | null;
      } else {
        return { node, key, found: isAlias(node) };
      }
    }
    return { node, key, found: true };
  }

  /** The position of the value at `path`, or of its key when the value is empty. */
  valueAt(path: Path): { line: number; col: number } {
    const { node, key } = this.find(path);
    const emptyValue = !node || (isScalar(node) && node.value === null);
    const target = emptyValue && key ? key : node;
    return target?.range ? this.at(target.range[0]) : this.start();
  }

  /** The position of the key that names the value at `path` (or of the value, for list items). */
  keyAt(path: Path): { line: number; col: number } {
    const { node, key } = this.find(path);
    const target = key ?? node;
    return target?.range ? this.at(target.range[0]) : this.start();
  }
}

/** The keys an object schema allows at `path` (through optionals, pipes, unions and arrays). */
function allowedKeys(schema: z.core.$ZodType, path: Path): string[] {
  const def = schema._zod.def as unknown as Record<string, unknown> & { type: string };
  switch (def.type) {
    case "optional":
    case "nullable":
    case "default":
    case "prefault":
    case "readonly":
      return allowedKeys(def.innerType as z.core.$ZodType, path);
    case "pipe":
      return allowedKeys(def.in as z.core.$ZodType, path);
    case "union":
      return (def.options as z.core.$ZodType[]).flatMap((option) => allowedKeys(option, path));
    case "array":
      return typeof path[0] === "number" ? allowedKeys(def.element as z.core.$ZodType, path.slice(1)) : [];
    case "object": {
      const shape = def.shape as Record<string, z.core.$ZodType>;
      if (path.length === 0) return Object.keys(shape);
      const next = shape[String(path[0])];
      return next ? allowedKeys(next, path.slice(1)) : [];
    }
    default:
      return [];
  }
}

/** Schema issues as problems at the key or value they are about. */
function issueProblems(issue: TaskIssue, file: string, pos: DocumentPositions): Problem[] {
  const prefix = (path: Path) => path.length ? `${formatPath(path)}: ` : "";
  if (issue.code === "unrecognized_keys") {
    const known = allowedKeys(TaskSpecSchema, issue.path);
    return issue.keys.map((key) => {
      const guess = closestMatch(key, known);
      const hint = guess ? ` (did you mean "${guess}"?)` : ` (allowed: ${known.join(", ")})`;
      const where = [...issue.path, key];
      return { file, ...pos.keyAt(where), message: `${prefix(issue.path)}unknown key "${key}"${hint}` };
    });
  }
  if (issue.code === "invalid_type" && issue.path.length > 0 && !pos.find(issue.path).found) {
    const parent = issue.path.slice(0, -1);
    const key = String(issue.path.at(-1));
    return [{ file, ...pos.valueAt(parent), message: `${prefix(parent)}missing required key "${key}"` }];
  }
  return [{ file, ...pos.valueAt(issue.path), message: `${prefix(issue.path)}${issue.message}` }];
}

/** YAML error messages end in "at line X, column Y" (with prettyErrors): the position is given separately. */
function yamlMessage(message: string): string {
  return message.split("\n")[0].replace(/ at line \d+, column \d+:?\s*$/, "");
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as Record<string, unknown>
    : {};
}

/** Where prompt files are named in a (not yet validated) task document. */
function promptFileRefs(value: unknown): { path: Path; name: string }[] {
  const task = asRecord(value);
  const holders: [Path, Record<string, unknown>][] = [[[], task], [["review"], asRecord(task.review)]];
  if (Array.isArray(task.follow_ups)) {
    for (const [i, followUp] of task.follow_ups.entries()) {
      holders.push([["follow_ups", i], asRecord(followUp)]);
    }
  }
  return holders
    .filter(([, holder]) => typeof holder.prompt_file === "string" && /\S/.test(holder.prompt_file))
    .map(([path, holder]) => ({ path, name: holder.prompt_file as string }));
}

/** Whether `path` is `dir` or inside it (both absolute and normalized). */
export function isWithin(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith("/") ? dir : dir + "/");
}

/** `realPath`, or null when the path does not exist (a dangling symlink included). */
async function realOrNull(path: string, realPath: (p: string) => Promise<string>): Promise<string | null> {
  try {
    return await realPath(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/**
 * Where a task file may read from: its own folder (as named and with symlinks resolved) and the folders the
 * caller allowed.
 */
async function readableRoots(file: string, trust: TaskFileTrust): Promise<string[]> {
  const realPath = trust.realPath ?? Deno.realPath;
  const folder = resolve(dirname(file));
  const real = await realOrNull(folder, realPath).catch(() => null);
  return [...new Set([folder, ...(real ? [real] : []), ...(trust.allowPaths ?? [])])];
}

/**
 * Reads every prompt file a task document names, relative to the task file, whether or not the rest of the
 * document is valid (so all problems show at once). Texts are keyed by the path of the mapping naming them.
 * A prompt file must resolve, symlinks included, inside the task file's folder or a folder the caller
 * allowed (`--allow-path`); the file read is the resolved one. `fromCaller` skips the check for the
 * top-level prompt_file (given with `--set`, relative to the caller's folder).
 */
async function readPromptFiles(
  value: unknown,
  file: string,
  pos: DocumentPositions,
  io: { readFile: ReadTextFile; statFile: StatFile; trust: TaskFileTrust; fromCaller: boolean },
): Promise<{ texts: Map<string, { full: string; text: string }>; problems: Problem[] }> {
  const texts = new Map<string, { full: string; text: string }>();
  const problems: Problem[] = [];
  const refs = promptFileRefs(value);
  const roots = refs.length ? await readableRoots(file, io.trust) : [];
  const realPath = io.trust.realPath ?? Deno.realPath;
  for (const { path, name } of refs) {
    const where = [...path, "prompt_file"];
    const full = resolve(dirname(file), name);
    const problem = (message: string) =>
      problems.push({ file, ...pos.valueAt(where), message: `${formatPath(where)}: ${message}` });
    let target = full;
    if (!(io.fromCaller && path.length === 0)) {
      let real: string | null;
      try {
        real = await realOrNull(full, realPath);
      } catch (error) {
        problem(`cannot read "${name}" (${full}): ${describeError(error)}`);
        continue;
      }
      const resolved = real ?? full;
      if (!roots.some((root) => isWithin(resolved, root))) {
        const via = real !== null && real !== full ? ` through a symlink, to ${real}` : ` (${full})`;
        problem(
          `"${name}" leads outside the task file's folder${via}; a task file reads only files in its ` +
            `folder unless the caller allows more with --allow-path DIR`,
        );
        continue;
      }
      target = resolved;
    }
    const result = await readChecked(target, io.readFile, io.statFile);
    if ("error" in result) problem(`cannot read "${name}" (${full}): ${result.error}`);
    else if (!/\S/.test(result.text)) problem(`"${name}" is empty`);
    else texts.set(formatPath(path), { full: target, text: result.text });
  }
  return { texts, problems };
}

/**
 * The variables a (not yet validated) task document names in `env` that the caller has not allowed: a
 * task file passes only the names the child gets anyway or those the caller named (`--allow-env`,
 * `--env`), and never IS_SANDBOX.
 */
function envProblems(value: unknown, file: string, pos: DocumentPositions, trust: TaskFileTrust): Problem[] {
  const env = asRecord(value).env;
  if (!Array.isArray(env)) return [];
  const allowed = new Set(trust.allowEnv ?? []);
  const problems: Problem[] = [];
  for (const [i, name] of env.entries()) {
    if (typeof name !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) continue; // the schema says why
    const at = { file, ...pos.valueAt(["env", i]) };
    if (name === "IS_SANDBOX") {
      problems.push({
        ...at,
        message: `env[${i}]: IS_SANDBOX cannot be passed: the OS sandbox sets it, and only there`,
      });
    } else if (!allowed.has(name) && !isInheritedName(name)) {
      problems.push({
        ...at,
        message: `env[${i}]: the task file asks for your variable ${name}; it passes only if you allow it: ` +
          `--allow-env ${name} (or --env ${name} on apply)`,
      });
    }
  }
  return problems;
}

/** The task with prompt texts filled in from the prompt files read by `readPromptFiles`. */
function resolvePrompts(spec: TaskSpec, texts: Map<string, { full: string; text: string }>): ResolvedTask {
  const fill = <T extends { prompt?: string; prompt_file?: string }>(entry: T, path: Path) => {
    const read = entry.prompt_file === undefined ? undefined : texts.get(formatPath(path));
    return read ? { ...entry, prompt: read.text, prompt_file: read.full } : entry;
  };
  const main = fill(spec, []);
  return {
    ...main,
    prompt: main.prompt ?? "",
    follow_ups: (spec.follow_ups ?? []).map((f, i) => {
      const filled = fill(f, ["follow_ups", i]);
      return { ...filled, prompt: filled.prompt ?? "" };
    }),
    review: spec.review ? fill(spec.review, ["review"]) : null,
    env: spec.env ?? [],
  };
}

/**
 * The document with top-level keys replaced by `--set` values; setting one of prompt and prompt_file
 * drops the other from the document, as editing the file would.
 */
function withOverrides(value: unknown, set: Readonly<Record<string, unknown>>): unknown {
  const keys = Object.keys(set);
  if (keys.length === 0 || typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const out: Record<string, unknown> = { ...value as Record<string, unknown> };
  if ("prompt" in set) delete out.prompt_file;
  if ("prompt_file" in set) delete out.prompt;
  return Object.assign(out, set);
}

/** A problem about a value given with `--set`: said so, at the document (the value is not in the file). */
function fromSet(problem: Problem, set: Readonly<Record<string, unknown>>, pos: DocumentPositions): Problem {
  const key = Object.keys(set).find((k) => problem.message.startsWith(k));
  return key === undefined ? problem : { ...problem, ...pos.start(), message: `--set ${problem.message}` };
}

/**
 * Loads one task file: every YAML document is one task. Problems (YAML syntax, schema, unreadable prompt
 * files) come back sorted by position; the tasks are those that had none. `set` replaces top-level keys of
 * every document (`apply --set key=value`) before validation; its problems are marked "--set".
 * The file's size is checked before it is read.
 *
 * @example
 * ```ts
 * const { tasks, problems } = await loadTaskFile("tasks.example/build-todo-api.yaml");
 * if (problems.length) console.error(problems.map(formatProblem).join("\n"));
 * else console.log(tasks.map((t) => t.spec.slug));
 * ```
 */
/**
 * A task file's `repo:` must resolve, symlinks included, inside its folder or a folder the caller allowed
 * (`--allow-path`), as a prompt file must: the project becomes a worktree of that repository, so the
 * specialist would read (and commit in) any repository of the caller's otherwise. A path that does not
 * exist yet is checked as written (the repository check reports it missing).
 */
async function repoProblems(
  value: unknown,
  file: string,
  pos: DocumentPositions,
  trust: TaskFileTrust,
): Promise<Problem[]> {
  const repo = asRecord(value).repo;
  if (typeof repo !== "string" || repo === "") return []; // the schema says why
  const full = resolve(dirname(file), repo);
  let real: string | null;
  try {
    real = await realOrNull(full, trust.realPath ?? Deno.realPath);
  } catch {
    real = null;
  }
  const resolved = real ?? full;
  const roots = await readableRoots(file, trust);
  if (roots.some((root) => isWithin(resolved, root))) return [];
  const via = real !== null && real !== full ? ` through a symlink, to ${real}` : ` (${full})`;
  return [{
    file,
    ...pos.valueAt(["repo"]),
    message: `repo: "${repo}" leads outside the task file's folder${via}; a task file works only in ` +
      `repositories in its folder unless the caller allows more with --allow-path DIR`,
  }];
}

export async function loadTaskFile(
  path: string,
  readFile: ReadTextFile = Deno.readTextFile,
  statFile: StatFile = Deno.stat,
  set: Readonly<Record<string, unknown>> = {},
  trust: TaskFileTrust = {},
): Promise<LoadResult> {
  const file = path;
  const result = await readChecked(path, readFile, statFile);
  if ("error" in result) {
    return {
      tasks: [],
      problems: [{ file, line: 1, col: 1, message: `cannot read task file: ${result.error}` }],
    };
  }

  const lines = new LineCounter();
  // uniqueKeys off: duplicates are found by duplicateKeyOffsets, in linear time.
  const docs = parseAllDocuments(result.text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  // Output schemas are checked against their meta-schema while parsing (the validators load on demand).
  if (result.text.includes("output_schema") || "output_schema" in set) await loadValidators();
  if (docs.length === 0) {
    return {
      tasks: [],
      problems: [{ file, line: 1, col: 1, message: "no task in file (it is empty or only comments)" }],
    };
  }

  const tasks: LoadedTask[] = [];
  const problems: Problem[] = [];
  for (const [index, doc] of docs.entries()) {
    const pos = new DocumentPositions(doc, lines);
    const yamlIssues = [...doc.errors, ...doc.warnings];
    for (const issue of yamlIssues) {
      problems.push({ file, ...pos.at(issue.pos[0]), message: yamlMessage(issue.message) });
    }
    const duplicates = yamlIssues.length ? [] : duplicateKeyOffsets(doc as Document);
    for (const at of duplicates) problems.push({ file, ...pos.at(at), message: "Map keys must be unique" });
    if (yamlIssues.length || duplicates.length) continue;

    const contents = doc.contents;
    if (contents === null || (isScalar(contents) && contents.value === null)) {
      problems.push({
        file,
        ...pos.start(),
        message: `document ${index + 1} is empty (remove the extra "---")`,
      });
      continue;
    }

    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const message = /excessive alias count/i.test(reason)
        ? `YAML aliases expand to too many values (over ${MAX_ALIAS_COUNT}); write the values out instead`
        : reason;
      problems.push({ file, ...pos.start(), message });
      continue;
    }

    // Names in the file's own `env` need the caller's leave; `--set env=...` is the caller's own choice.
    const envRefused = "env" in set ? [] : envProblems(value, file, pos, trust);
    problems.push(...envRefused);
    // `--set repo=...` is the caller's own choice, like `--set env=...`.
    const repoRefused = "repo" in set ? [] : await repoProblems(value, file, pos, trust);
    problems.push(...repoRefused);
    value = withOverrides(value, set);
    const parsed = TaskSpecSchema.safeParse(value);
    const fromCaller = "prompt_file" in set;
    const prompts = await readPromptFiles(value, file, pos, { readFile, statFile, trust, fromCaller });
    problems.push(...prompts.problems.map((p) => fromSet(p, set, pos)));
    if (!parsed.success) {
      for (const issue of flattenIssues(parsed.error.issues)) {
        const found = issueProblems(issue, file, pos);
        problems.push(...(String(issue.path[0]) in set ? found.map((p) => fromSet(p, set, pos)) : found));
      }
    }
    if (!parsed.success || prompts.problems.length || envRefused.length || repoRefused.length) continue;
    const spec = resolvePrompts(parsed.data, prompts.texts);

    // Several tasks of one slug in one file are allowed: apply runs them in file order, one project.
    const slugAt = pos.valueAt(["slug"]);
    // verify: and on_done: run commands as the caller: only with the caller's leave (--allow-commands).
    if (!trust.allowCommands) {
      const commandKeys: Path[] = [];
      if (spec.on_done !== undefined) commandKeys.push(["on_done"]);
      if (spec.verify !== undefined) commandKeys.push(["verify"]);
      if (spec.review?.verify !== undefined) commandKeys.push(["review", "verify"]);
      spec.follow_ups.forEach((f, i) =>
        f.verify !== undefined && commandKeys.push(["follow_ups", i, "verify"])
      );
      const refused = commandKeys.filter((where) => !(String(where[0]) in set));
      for (const where of refused) {
        problems.push({
          file,
          ...pos.valueAt(where),
          message: `${formatPath(where)}: a task file's commands run on your machine as you; ` +
            "allow them with --allow-commands (or give --verify / --on-done yourself)",
        });
      }
      if (refused.length) continue;
    }
    const permissionAt: Record<string, { line: number; col: number }> = {};
    const holders: Path[] = [[], ...spec.follow_ups.map((_, i) => ["follow_ups", i]), ["review"]];
    for (const holder of holders) {
      const where = [...holder, "permission"];
      if (!(String(holder[0] ?? "permission") in set) && pos.find(where).found) {
        permissionAt[formatPath(where)] = pos.valueAt(where);
      }
    }
    tasks.push({ spec, file, index, line: pos.start().line, slugAt, permissionAt });
  }
  return { tasks, problems: problems.sort(byPosition) };
}

/**
 * Loads several task files (each once) and also reports a slug used in two different files, since apply
 * state is kept per slug.
 *
 * @example
 * ```ts
 * const { tasks, problems } = await loadTaskFiles(["a.yaml", "b.yaml"]);
 * ```
 */
export async function loadTaskFiles(
  paths: readonly string[],
  readFile: ReadTextFile = Deno.readTextFile,
  statFile: StatFile = Deno.stat,
  set: Readonly<Record<string, unknown>> = {},
  trust: TaskFileTrust = {},
): Promise<LoadResult> {
  const byFullPath = new Map<string, string>();
  for (const p of paths) if (!byFullPath.has(resolve(p))) byFullPath.set(resolve(p), p);
  const unique = [...byFullPath.values()];
  const results = await Promise.all(unique.map((p) => loadTaskFile(p, readFile, statFile, set, trust)));
  const tasks = results.flatMap((r) => r.tasks);
  const problems = results.flatMap((r) => r.problems);

  const firstBySlug = new Map<string, LoadedTask>();
  for (const task of tasks) {
    const first = firstBySlug.get(task.spec.slug);
    if (!first) firstBySlug.set(task.spec.slug, task);
    else if (first.file !== task.file) {
      problems.push({
        file: task.file,
        ...task.slugAt,
        message: `slug "${task.spec.slug}" is also used in ${first.file}:${first.line}; slugs must be unique`,
      });
    }
  }
  const fileOrder = new Map(unique.map((p, i) => [p, i]));
  const byFile = (a: Problem, b: Problem) => (fileOrder.get(a.file) ?? 0) - (fileOrder.get(b.file) ?? 0);
  return { tasks, problems: problems.sort((a, b) => byFile(a, b) || byPosition(a, b)) };
}
