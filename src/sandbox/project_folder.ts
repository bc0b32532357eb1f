/**
 * A project is a real folder directly inside the projects folder, and its state is its own. Checked
 * before anything is written, by every command that writes to a project or reads it as one:
 *
 * - a project folder, its `.dispatch-logs`, or a file dispatch-cc appends to there that is a symbolic
 *   link would carry writes (and under `--sandbox`, a writable bind) out of the projects folder;
 * - the specialist's own state folder may be named after the project's path in a way that two projects
 *   share (Claude Code turns every character other than a letter or digit into `-`: `a-b`, `a_b` and
 *   `a.b` share one), and then each run can read and rewrite the other's sessions.
 */
import { join } from "../paths.ts";
import { UsageError } from "../errors.ts";

/** Why `path` cannot be used as a folder of ours: a symlink, or not a folder; null when fine or absent. */
function folderProblem(path: string): string | null {
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
  if (info.isSymlink) {
    let target = "?";
    try {
      target = Deno.readLinkSync(path);
    } catch { /* unreadable link */ }
    return `is a symbolic link (to ${target})`;
  }
  return info.isDirectory ? null : "is not a folder";
}

/**
 * Refuses a project whose folder or `.dispatch-logs` is a symbolic link or not a folder (exit 2). The
 * same rule makes `list` and `search` skip such an entry (they list real folders only) and `status`,
 * `resume` and `review` refuse it with this message.
 *
 * @example
 * ```ts
 * checkProjectFolder("/home/me/projects", "etclink"); // throws when etclink -> /etc
 * ```
 */
export function checkProjectFolder(projectsDir: string, slug: string): void {
  const dir = join(projectsDir, slug);
  const own = folderProblem(dir);
  if (own) {
    throw new UsageError(
      `project folder ${dir} ${own}: refused, a run would write outside the projects folder. ` +
        `Nothing was written. Use a real folder (remove the link, or move the project into ${projectsDir}).`,
    );
  }
  const logs = join(dir, ".dispatch-logs");
  const inner = folderProblem(logs);
  if (inner) {
    throw new UsageError(
      `${logs} ${inner}: refused, run records would be written outside the project. Nothing was written. ` +
        `Remove it (dispatch-cc creates a real .dispatch-logs folder).`,
    );
  }
  // A link among the records (history.jsonl, a run's files) would carry an append out of the project.
  try {
    for (const e of Deno.readDirSync(logs)) {
      if (e.isSymlink) {
        throw new UsageError(
          `${join(logs, e.name)} is a symbolic link: refused, a run would write through it. Nothing was ` +
            `written. Remove it (a tool of an earlier run may have planted it).`,
        );
      }
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

/**
 * Refuses to open `path` for appending when it is a symbolic link (a tool of an unsandboxed run can plant
 * one in the project's `.dispatch-logs`); files replaced by rename are safe without this.
 */
export function checkNotSymlink(path: string): void {
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(path);
  } catch {
    return;
  }
  if (info.isSymlink || !info.isFile) {
    throw new UsageError(
      `${path} is ${
        info.isSymlink ? "a symbolic link" : "not a regular file"
      }: refused to write through it ` +
        `(a tool of an earlier run may have planted it). Remove it and run again.`,
    );
  }
}

/**
 * The existing project whose specialist state folder would be the same as `slug`'s, or null. `folderOf`
 * names the state folder of a project path (the agent's rule, e.g. `claudeProjectFolder`). Projects are
 * compared by the real path of the projects folder, as the specialist sees their working directory.
 *
 * @example
 * ```ts
 * sharedStateWith("/p", "col_x", claudeProjectFolder); // "col-x" when /p/col-x exists
 * ```
 */
export function sharedStateWith(
  projectsDir: string,
  slug: string,
  folderOf: (projectPath: string) => string,
): string | null {
  let base: string;
  try {
    base = Deno.realPathSync(projectsDir);
  } catch {
    return null; // no projects yet
  }
  const mine = folderOf(join(base, slug));
  for (const entry of Deno.readDirSync(base)) {
    if (entry.name === slug || entry.name.startsWith(".")) continue;
    if (folderOf(join(base, entry.name)) === mine) return entry.name;
  }
  return null;
}

/**
 * Refuses a new project whose specialist state folder an existing project already uses (exit 2, nothing
 * created); for a project that exists already (a pair made by an older version) it returns a warning.
 */
export function checkOwnState(
  projectsDir: string,
  slug: string,
  projectExists: boolean,
  agent: { displayName: string; folderOf: (projectPath: string) => string },
): string | null {
  const other = sharedStateWith(projectsDir, slug, agent.folderOf);
  if (other === null) return null;
  const why = `${agent.displayName} would keep the sessions of "${slug}" in the same state folder as ` +
    `project "${other}" (it names the folder after the path, with every character other than a letter ` +
    `or digit turned into "-")`;
  if (projectExists) {
    return `${why}: their sessions can mix; rename one of them (mv ${join(projectsDir, slug)} ...)`;
  }
  throw new UsageError(`${why}; choose another slug. Nothing was created.`);
}
