/**
 * Where Claude Code keeps its sessions: `<state>/projects/<folder named after the cwd>/<id>.jsonl`.
 *
 * @module
 */
import { join } from "../../paths.ts";
import { isSessionId } from "../../store/project.ts";

/** Claude Code's own state folder: $CLAUDE_CONFIG_DIR or $HOME/.claude. */
export function claudeStateDir(env: Record<string, string>): string {
  return env.CLAUDE_CONFIG_DIR || join(env.HOME ?? "", ".claude");
}

/**
 * The folder under `<state>/projects/` where Claude Code keeps the sessions of working directory `cwd`
 * (an absolute, real path): every character other than `A-Z a-z 0-9` becomes "-"; a name over 200
 * characters is cut to 200 and gets "-" and a hash of the path (Java's string hash, absolute, base 36).
 * Checked against 2.1.328 (tests/sandbox_e2e.test.ts).
 *
 * @example
 * ```ts
 * claudeProjectFolder("/home/me/p.x"); // "-home-me-p-x"
 * ```
 */
export function claudeProjectFolder(cwd: string): string {
  const name = cwd.replace(/[^a-zA-Z0-9]/g, "-");
  if (name.length <= 200) return name;
  let hash = 0;
  for (let i = 0; i < cwd.length; i++) hash = (Math.imul(hash, 31) + cwd.charCodeAt(i)) | 0;
  return `${name.slice(0, 200)}-${Math.abs(hash).toString(36)}`;
}

/**
 * The folder holding session `id` (`<state>/projects/<folder>/<id>.jsonl`), or null. Looks in every
 * project folder: `--resume` works from any working directory and keeps appending where the session
 * began. An id that is not a UUID is never looked up (it would be joined into a path).
 */
export async function findSessionFolder(env: Record<string, string>, id: string): Promise<string | null> {
  if (!isSessionId(id)) return null;
  const projects = join(claudeStateDir(env), "projects");
  try {
    for await (const entry of Deno.readDir(projects)) {
      if (!entry.isDirectory) continue;
      try {
        await Deno.stat(join(projects, entry.name, `${id}.jsonl`));
        return join(projects, entry.name);
      } catch { /* not in this folder */ }
    }
  } catch { /* no projects folder yet */ }
  return null;
}

/**
 * Can Claude Code resume this session? Its transcript must be a regular file (not a link) holding at least
 * one conversation entry of this session: a damaged transcript (overwritten, truncated to garbage) makes
 * `--resume` exit 1 with "No conversation found", which a resume must never do (it starts afresh instead).
 * Only the first 4 MiB are read; a conversation entry comes within the first few lines. False for anything
 * that is not a UUID.
 */
export async function sessionExists(env: Record<string, string>, id: string): Promise<boolean> {
  const folder = await findSessionFolder(env, id);
  if (folder === null) return false;
  const path = join(folder, `${id}.jsonl`);
  try {
    const info = await Deno.lstat(path);
    if (!info.isFile) return false;
    using file = await Deno.open(path);
    const buf = new Uint8Array(Math.min(info.size, 4 << 20));
    let filled = 0;
    while (filled < buf.length) {
      const n = await file.read(buf.subarray(filled));
      if (n === null) break;
      filled += n;
    }
    for (const line of new TextDecoder().decode(buf.subarray(0, filled)).split("\n")) {
      if (!line.startsWith("{")) continue;
      try {
        const ev = JSON.parse(line);
        if ((ev?.type === "user" || ev?.type === "assistant") && ev.sessionId === id) return true;
      } catch { /* a damaged line */ }
    }
  } catch { /* unreadable: not resumable */ }
  return false;
}

/**
 * The session folders a run in `projectDir` (a real path) writes: its own, and the folder of a resumed
 * session that began in another working directory (Claude Code appends where a session began).
 */
export async function claudeSessionFolders(
  env: Record<string, string>,
  projectDir: string,
  resumeId: string | null,
): Promise<string[]> {
  const own = join(claudeStateDir(env), "projects", claudeProjectFolder(projectDir));
  const elsewhere = resumeId === null ? null : await findSessionFolder(env, resumeId);
  return [...new Set([own, ...(elsewhere ? [elsewhere] : [])])];
}
