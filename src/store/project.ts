import { folderPrefix, join } from "../paths.ts";
import { writeJsonAtomic, writeTextAtomic } from "./atomic.ts";
import {
  describeProblem,
  type FileRead,
  type JsonRead,
  MAX_SMALL_FILE,
  MISSING_JSON,
  readJsonObjectSafe,
  readJsonObjectSafeSync,
  readTextSafe,
} from "./files.ts";

/** Where each file of one project lives (DESIGN.md section 2: names shared with the earlier bash tool). */
export interface ProjectPaths {
  slug: string;
  dir: string;
  logsDir: string;
  claudeMd: string;
  projectJson: string;
  lastSessionId: string;
  lastResult: string;
  /** Session of the last review: kept apart so that `resume` continues the work, not the review. */
  lastReviewSessionId: string;
  lock: string;
}

export function projectPaths(projectsDir: string, slug: string): ProjectPaths {
  const dir = join(projectsDir, slug);
  // join() of each name, without a normalization each (list makes these paths for every project).
  const inDir = folderPrefix(dir);
  const logsDir = inDir !== null ? inDir + ".dispatch-logs" : join(dir, ".dispatch-logs");
  const inLogs = inDir !== null ? logsDir + "/" : folderPrefix(logsDir);
  const logsFile = (name: string) => inLogs !== null ? inLogs + name : join(logsDir, name);
  return {
    slug,
    dir,
    logsDir,
    claudeMd: inDir !== null ? inDir + "CLAUDE.md" : join(dir, "CLAUDE.md"),
    projectJson: logsFile("project.json"),
    lastSessionId: logsFile("last-session-id"),
    lastResult: logsFile("last-result.txt"),
    lastReviewSessionId: logsFile("last-review-session-id"),
    lock: logsFile("lock"),
  };
}

/** project.json: the earlier tool's four fields; later fields are additive. */
export interface ProjectMeta {
  slug: string;
  description: string;
  created: string;
  updated: string;
  [extra: string]: unknown;
}

/**
 * The agent whose work session the project holds (`agent` in project.json; a project without one, or the
 * earlier tool's, is Claude Code's); null without project.json. A value that is no agent name reads "unknown".
 *
 * @example
 * ```ts
 * projectAgent({ slug: "a", description: "", created: "", updated: "" }); // "claude"
 * ```
 */
export function projectAgent(meta: ProjectMeta | null): string | null {
  if (meta === null) return null;
  if (meta.agent === undefined) return "claude";
  return typeof meta.agent === "string" && /^[a-z][a-z0-9_-]{0,31}$/.test(meta.agent)
    ? meta.agent
    : "unknown";
}

/** UTC time as the earlier tool wrote it: `2026-03-31T14:30:22Z`. */
export function utcStamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * `YYYYMMDD-HHMMSS` in UTC, the prefix of every new run's files. The earlier tool wrote local time; UTC
 * keeps run ids in the order the runs started whatever the caller's `TZ` and through a DST change's
 * repeated hour (the earlier tool's stamps are still read as local time).
 */
export function runStamp(date: Date): string {
  return date.toISOString().slice(0, 19).replace(/[-:]/g, "").replace("T", "-");
}

/** The default description: the first 100 characters of the prompt, on one line. */
export function descriptionFromPrompt(prompt: string): string {
  return prompt.replace(/\s+/g, " ").trim().slice(0, 100);
}

/** Does the project folder exist (with or without our logs)? */
export async function projectExists(paths: ProjectPaths): Promise<boolean> {
  try {
    return (await Deno.stat(paths.dir)).isDirectory;
  } catch {
    return false;
  }
}

/** Reads project.json; a missing or corrupt file is a problem string, never an exception. */
export async function readProjectMeta(
  paths: ProjectPaths,
): Promise<{ meta: ProjectMeta | null; problem: string | null }> {
  return metaOf(paths, await readJsonObjectSafe(paths.projectJson, { maxBytes: MAX_SMALL_FILE }));
}

/**
 * {@linkcode readProjectMeta}, synchronously. `absent`: the caller's listing of the logs folder shows no
 * project.json (then it is missing without a try to open it).
 */
export function readProjectMetaSync(
  paths: ProjectPaths,
  absent = false,
): { meta: ProjectMeta | null; problem: string | null } {
  return metaOf(
    paths,
    absent ? MISSING_JSON : readJsonObjectSafeSync(paths.projectJson, { maxBytes: MAX_SMALL_FILE }),
  );
}

function metaOf(paths: ProjectPaths, r: JsonRead): { meta: ProjectMeta | null; problem: string | null } {
  if (!r.ok) return { meta: null, problem: `project.json ${r.problem}` };
  const v = r.value;
  return {
    meta: {
      ...v,
      slug: typeof v.slug === "string" ? v.slug : paths.slug,
      description: typeof v.description === "string" ? v.description : "",
      created: typeof v.created === "string" ? v.created : "",
      updated: typeof v.updated === "string" ? v.updated : "",
    },
    problem: null,
  };
}

/**
 * Creates the project folder, CLAUDE.md (only when absent) and writes project.json, keeping `created`
 * and the earlier description unless a new one is given explicitly. Called only once the lock is held.
 */
export async function prepareProject(
  paths: ProjectPaths,
  opts: { description?: string; prompt: string; now: Date },
): Promise<ProjectMeta> {
  await Deno.mkdir(paths.logsDir, { recursive: true });
  const earlier = (await readProjectMeta(paths)).meta;
  const description = opts.description?.trim() || earlier?.description || descriptionFromPrompt(opts.prompt);
  // A repository's worktree gets no CLAUDE.md of ours: it would be a change to the repository (its own
  // CLAUDE.md, if any, is what Claude Code reads there).
  if (typeof earlier?.repo !== "string") {
    try {
      const header = `# Project: ${paths.slug}\n\n${description}\n`;
      await Deno.writeTextFile(paths.claudeMd, header, { createNew: true });
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    }
  }
  const meta: ProjectMeta = {
    ...(earlier ?? {}),
    slug: paths.slug,
    description,
    created: earlier?.created || utcStamp(opts.now),
    updated: utcStamp(opts.now),
  };
  await writeJsonAtomic(paths.projectJson, meta);
  return meta;
}

/** Updates `updated` (and any additive fields) in project.json after a run, keeping the rest. */
export async function touchProject(paths: ProjectPaths, now: Date, extra: Record<string, unknown> = {}) {
  const earlier = (await readProjectMeta(paths)).meta;
  if (!earlier) return;
  await writeJsonAtomic(paths.projectJson, { ...earlier, ...extra, updated: utcStamp(now) });
}

const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A session id read back from disk is untrusted: it must look like one. */
export function isSessionId(value: string): boolean {
  return SESSION_ID.test(value);
}

/** Reads a saved session id, reporting a missing, empty or malformed file. */
export async function readSessionId(path: string): Promise<{ id: string | null; problem: string | null }> {
  const r: FileRead = await readTextSafe(path, { maxBytes: MAX_SMALL_FILE });
  if (!r.ok) return { id: null, problem: describeProblem(r) };
  const id = r.text.trim();
  return isSessionId(id) ? { id, problem: null } : { id: null, problem: "malformed (not a session id)" };
}

export async function writeSessionId(path: string, id: string): Promise<void> {
  await writeTextAtomic(path, id + "\n");
}
