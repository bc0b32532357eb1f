/**
 * The one way dispatch-cc reads a project's files (project.json, last-result.txt, records, the lock,
 * runs.jsonl, caches). A project folder is writable by the specialist and its tools: any of its files may
 * be a FIFO (a plain read blocks until a writer comes, for ever), a symlink to `/dev/zero` (a read that
 * never ends) or simply huge. Each read checks the file is a regular file of a sane size first, reads at
 * most that many bytes, and reports anything else as a problem of that one file.
 *
 * @module
 */

/** Why a project file gave no text. */
export type FileProblem = "missing" | "empty" | "unreadable" | "not a regular file" | "too large";

/** What reading one file of a project gave: its text, or why there is none. */
export type FileRead =
  | { ok: true; text: string }
  | { ok: false; problem: FileProblem; detail?: string };

/** Small files: project.json, the lock, last-session-id, cancel requests. */
export const MAX_SMALL_FILE = 1024 * 1024;
/**
 * Files that grow with a project's history or a result's size (runs.jsonl, records, result files,
 * last-result.txt, caches): the default limit of the safe readers.
 */
export const MAX_TEXT_FILE = 256 * 1024 * 1024;
/** Larger than any file of a project dispatch-cc or the earlier tool reads (the name `index` used). */
export const MAX_PROJECT_FILE = MAX_TEXT_FILE;

/** Options of the safe readers. */
export interface SafeReadOptions {
  /** Refuse a file bigger than this (bytes); {@linkcode MAX_TEXT_FILE} unless given. */
  maxBytes?: number;
}

/** What {@linkcode checkRegularFile} found: a regular file's size and mtime, or why it is not one. */
export type FileCheck =
  | { ok: true; size: number; mtime: Date | null }
  | { ok: false; problem: Exclude<FileProblem, "empty">; detail?: string };

/** One line for a failed read: `problem (detail)`. */
export function describeProblem(r: { problem: string; detail?: string }): string {
  return r.problem + (r.detail ? ` (${r.detail})` : "");
}

function judge(stat: Deno.FileInfo, maxBytes: number): FileCheck {
  if (!stat.isFile) {
    const kind = stat.isDirectory
      ? "a directory"
      : stat.isFifo
      ? "a FIFO"
      : stat.isCharDevice
      ? "a character device"
      : stat.isBlockDevice
      ? "a block device"
      : stat.isSocket
      ? "a socket"
      : "not a file";
    return { ok: false, problem: "not a regular file", detail: kind };
  }
  if (stat.size > maxBytes) {
    return { ok: false, problem: "too large", detail: `${stat.size} bytes, limit ${maxBytes}` };
  }
  return { ok: true, size: stat.size, mtime: stat.mtime };
}

function failure(err: unknown): FileCheck & { ok: false } {
  if (err instanceof Deno.errors.NotFound) return { ok: false, problem: "missing" };
  return { ok: false, problem: "unreadable", detail: err instanceof Error ? err.message : String(err) };
}

/**
 * Is `path` (after symlinks) a regular file of at most `maxBytes`? For files read piece by piece (a
 * transcript that `logs` follows): check before opening, since opening a FIFO blocks.
 *
 * @example
 * ```ts
 * const c = await checkRegularFile("/p/.dispatch-logs/x.jsonl", { maxBytes: Infinity });
 * if (!c.ok) console.error(describeProblem(c));
 * ```
 */
export async function checkRegularFile(path: string, opts: SafeReadOptions = {}): Promise<FileCheck> {
  try {
    return judge(await Deno.stat(path), opts.maxBytes ?? MAX_TEXT_FILE);
  } catch (err) {
    return failure(err);
  }
}

/** {@linkcode checkRegularFile}, synchronously. */
export function checkRegularFileSync(path: string, opts: SafeReadOptions = {}): FileCheck {
  try {
    return judge(Deno.statSync(path), opts.maxBytes ?? MAX_TEXT_FILE);
  } catch (err) {
    return failure(err);
  }
}

const decoder = new TextDecoder();

function decode(bytes: Uint8Array): FileRead {
  const text = decoder.decode(bytes);
  return text.trim() === "" ? { ok: false, problem: "empty" } : { ok: true, text };
}

/**
 * Reads a project file as text without throwing and without hanging: it must be a regular file (symlinks
 * followed) of at most `maxBytes`, and no more than that is ever read (a file swapped for a device between
 * the check and the read still stops there). A project's files may be missing, empty or damaged, and a
 * listing must report that for the one project and go on with the others.
 *
 * @example
 * ```ts
 * const r = await readTextSafe("/p/.dispatch-logs/last-session-id");
 * if (r.ok) console.log(r.text.trim());
 * else console.error(describeProblem(r)); // "not a regular file (a FIFO)"
 * ```
 */
export async function readTextSafe(path: string, opts: SafeReadOptions = {}): Promise<FileRead> {
  const max = opts.maxBytes ?? MAX_TEXT_FILE;
  // Synchronously: a fraction of the async call's cost, and list checks thousands of files.
  const check = checkRegularFileSync(path, { maxBytes: max });
  if (!check.ok) return check;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (err) {
    return failure(err);
  }
  try {
    const again = judge(await file.stat(), max);
    if (!again.ok) return again;
    const bytes = await readAtMost(file, again.size, max);
    if (bytes === null) return { ok: false, problem: "too large", detail: `more than ${max} bytes` };
    return decode(bytes);
  } catch (err) {
    return failure(err);
  } finally {
    file.close();
  }
}

/**
 * {@linkcode readTextSafe}, synchronously: the same answers, for the readers that must not yield and for
 * `list`, which reads thousands of files (a synchronous op costs a fraction of an asynchronous one).
 */
export function readTextSafeSync(path: string, opts: SafeReadOptions = {}): FileRead {
  const max = opts.maxBytes ?? MAX_TEXT_FILE;
  // Checked before opening, as late as can be: opening a FIFO would block (a file swapped for one between a
  // folder's listing and its open must not hang a listing); checked again once open.
  const check = checkRegularFileSync(path, { maxBytes: max });
  if (!check.ok) return check;
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (err) {
    return failure(err);
  }
  try {
    const again = judge(file.statSync(), max);
    if (!again.ok) return again;
    const bytes = readAtMostSync(file, again.size, max);
    if (bytes === null) return { ok: false, problem: "too large", detail: `more than ${max} bytes` };
    return decode(bytes);
  } catch (err) {
    return failure(err);
  } finally {
    file.close();
  }
}

/**
 * The buffer the synchronous reader reads into (its bytes are decoded before it returns, so one serves
 * every read): `list` reads tens of thousands of files, and a buffer each keeps the garbage collector busy.
 */
let scratch = new Uint8Array(64 * 1024);
const SCRATCH_MAX = 4 * 1024 * 1024;

/** A full read buffer doubled (to at most `max` + 1 bytes: one more says the file is too large); null at that. */
function grown(buf: Uint8Array, max: number): Uint8Array<ArrayBuffer> | null {
  if (buf.length > max) return null;
  const bigger = new Uint8Array(Math.min(buf.length * 2, max + 1));
  bigger.set(buf);
  return bigger;
}

/** {@linkcode readAtMost}, synchronously, into the scratch buffer when the file fits it. */
function readAtMostSync(file: Deno.FsFile, expected: number, max: number): Uint8Array | null {
  const want = Math.min(expected + 1, max + 1);
  if (want > scratch.length && want <= SCRATCH_MAX) scratch = new Uint8Array(want);
  let buf = want <= scratch.length ? scratch.subarray(0, want) : new Uint8Array(want);
  let total = 0;
  while (true) {
    if (total === buf.length) {
      const bigger = grown(buf, max);
      if (bigger === null) return null;
      buf = bigger;
    }
    const n = file.readSync(buf.subarray(total));
    if (n === null) break;
    total += n;
    if (total > max) return null;
    if (total === expected && n === expected && expected > 0) break;
  }
  return buf.subarray(0, total);
}

/** Reads to end of file, or null once more than `max` bytes came (the file grew, or is not what it said). */
async function readAtMost(file: Deno.FsFile, expected: number, max: number): Promise<Uint8Array | null> {
  // One buffer of the expected size (plus one byte to see the end) holds a file that did not change: no
  // copies of a big file beyond the decoded string.
  let buf = new Uint8Array(Math.min(expected + 1, max + 1));
  let total = 0;
  while (true) {
    if (total === buf.length) {
      const bigger = grown(buf, max);
      if (bigger === null) return null;
      buf = bigger;
    }
    const n = await file.read(buf.subarray(total));
    if (n === null) break;
    total += n;
    if (total > max) return null;
    // All the bytes the file held when it was opened, in one read: the end, without a read to see it.
    if (total === expected && n === expected && expected > 0) break;
  }
  return buf.subarray(0, total);
}

/** What reading a JSON object file gave: the object, or a one-line problem. */
export type JsonRead = { ok: true; value: Record<string, unknown> } | { ok: false; problem: string };

/** What the safe JSON reader gives for a file that is not there (for readers that know it without a try). */
export const MISSING_JSON: JsonRead = { ok: false, problem: describeProblem({ problem: "missing" }) };

/** Reads a file that should hold one JSON object; never throws, never hangs (see {@linkcode readTextSafe}). */
export async function readJsonObjectSafe(path: string, opts: SafeReadOptions = {}): Promise<JsonRead> {
  const r = await readTextSafe(path, opts);
  if (!r.ok) return { ok: false, problem: describeProblem(r) };
  return parseJsonObject(r.text);
}

/** {@linkcode readJsonObjectSafe}, synchronously. */
export function readJsonObjectSafeSync(path: string, opts: SafeReadOptions = {}): JsonRead {
  const r = readTextSafeSync(path, opts);
  if (!r.ok) return { ok: false, problem: describeProblem(r) };
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
