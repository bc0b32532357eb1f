/** What reading one file of a project gave: its text, or why there is none. */
export type FileRead =
  | { ok: true; text: string }
  | { ok: false; problem: "missing" | "empty" | "unreadable"; detail?: string };

/** Larger than any file of a project dispatch-cc or the earlier tool reads: such a file is damage. */
export const MAX_PROJECT_FILE = 256 * 2 ** 20;

/**
 * Reads a text file without throwing: a project's files may be missing, empty or damaged, and a listing
 * must report that for the one project and go on with the others.
 *
 * @example
 * ```ts
 * const r = await readTextSafe("/p/.dispatch-logs/last-session-id");
 * if (r.ok) console.log(r.text.trim());
 * ```
 */
export async function readTextSafe(path: string): Promise<FileRead> {
  try {
    // Regular files of a sane size only: a FIFO would block the read forever, a device (a symlink to
    // /dev/zero) would never end.
    const info = Deno.statSync(path); // (synchronously: a fraction of the async call's cost)
    if (!info.isFile || info.size > MAX_PROJECT_FILE) {
      const detail = info.isFile ? `larger than ${MAX_PROJECT_FILE / 2 ** 20} MB` : "not a regular file";
      return { ok: false, problem: "unreadable", detail };
    }
    const text = await Deno.readTextFile(path);
    return text.trim() === "" ? { ok: false, problem: "empty" } : { ok: true, text };
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { ok: false, problem: "missing" };
    return { ok: false, problem: "unreadable", detail: err instanceof Error ? err.message : String(err) };
  }
}

/** What reading a JSON object file gave: the object, or a one-line problem. */
export type JsonRead = { ok: true; value: Record<string, unknown> } | { ok: false; problem: string };

/** Reads a file that should hold one JSON object; never throws. */
export async function readJsonObjectSafe(path: string): Promise<JsonRead> {
  const r = await readTextSafe(path);
  if (!r.ok) return { ok: false, problem: r.problem + (r.detail ? ` (${r.detail})` : "") };
  return parseJsonObject(r.text);
}

/** Parses text that should hold one JSON object; never throws. */
export function parseJsonObject(text: string): JsonRead {
  try {
    const value = JSON.parse(text);
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      return { ok: false, problem: "not a JSON object" };
    }
    return { ok: true, value };
  } catch {
    return { ok: false, problem: "corrupt (not valid JSON)" };
  }
}
