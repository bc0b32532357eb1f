/**
 * Cheap staleness checks for the caches under `$DISPATCH_PROJECTS_DIR/.dispatch-index/`: a cached value
 * is used only while the stat keys of the files it was read from are unchanged. The files stay the one
 * source of truth; a cache that is missing, corrupt or stale is rebuilt from them.
 *
 * What changes what (Linux and macOS): adding, removing or renaming a file in a folder (and so every atomic
 * temp-and-rename write) changes the folder's mtime; rewriting a file in place changes its own mtime,
 * ctime and usually its size, and `touch -d` or `cp -p` still change its ctime.
 */
import { dirname, join } from "../paths.ts";
import { writeTextAtomic } from "./atomic.ts";

/** Where the caches live: a hidden folder, skipped by listings, that is always safe to delete. */
export const INDEX_DIR = ".dispatch-index";

/**
 * A change within this long of a scan may share its timestamp with a later change (coarse clocks, 1 s or
 * 2 s timestamps on some file systems): what was read from such files is used but not cached.
 */
export const RACY_MS = 2000;

/** The identity of a file or folder's current content, and when it last changed. */
export interface StatKey {
  /**
   * A 53-bit hash of inode, size, mtime and ctime (a number: the caches hold a key per file per project,
   * and numbers are shorter to store and cheaper to compare than strings).
   */
  key: number;
  /** Newest of mtime and ctime, ms since the epoch. */
  changed: number;
}

const TWO32 = 2 ** 32;

/**
 * Folds whole numbers (each below 2^53) into a 53-bit hash: two 32-bit lanes of MurmurHash3's mixing. A
 * change goes unnoticed only if the new values collide with the old (about one chance in 2^53).
 */
export function hashNumbers(values: number[]): number {
  let a = 0x9747b28c;
  let b = 0x2f6b8a3d;
  const mix = (word: number) => {
    let k = Math.imul(word, 0xcc9e2d51);
    k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
    a ^= k;
    a = (Math.imul((a << 13) | (a >>> 19), 5) + 0xe6546b64) | 0;
    b ^= Math.imul(word ^ (word >>> 16), 0x85ebca6b);
    b = Math.imul(b ^ (b >>> 13), 0xc2b2ae35);
  };
  for (let i = 0; i < values.length; i++) {
    mix(values[i] >>> 0);
    mix(Math.floor(values[i] / TWO32) >>> 0);
  }
  a = Math.imul(a ^ (a >>> 16), 0x85ebca6b);
  a = Math.imul(a ^ (a >>> 13), 0xc2b2ae35);
  a ^= a >>> 16;
  b ^= b >>> 16;
  return (a >>> 0) * 2 ** 21 + ((b >>> 0) >>> 11);
}

/**
 * Stats `path` (synchronously: ~4 µs against ~18 µs for the async call, and list makes two per project).
 *
 * @example
 * ```ts
 * const k = statKey("/p/task-api/.dispatch-logs");
 * if (k && k.key === cached.key) useCached();
 * ```
 */
export function statKey(path: string): StatKey | null {
  let s: Deno.FileInfo;
  try {
    s = Deno.statSync(path);
  } catch {
    return null;
  }
  const m = s.mtime?.getTime() ?? 0;
  const c = s.ctime?.getTime() ?? 0;
  return { key: hashNumbers([s.ino ?? 0, s.size, m, c]), changed: Math.max(m, c) };
}

/** Joins several keys into one; null when any part is missing (the value is then never cached). */
export function joinKeys(keys: (StatKey | null)[]): StatKey | null {
  let changed = 0;
  for (const k of keys) {
    if (k === null) return null;
    changed = Math.max(changed, k.changed);
  }
  return { key: hashNumbers(keys.map((k) => k!.key)), changed };
}

/** May a value read under `key` at `scanStart` be cached? Only when nothing changed close to the scan. */
export function cacheable(key: StatKey | null, scanStart: number, racyMs = RACY_MS): key is StatKey {
  return key !== null && key.changed < scanStart - racyMs;
}

/** Reads a cache file; null when it is missing, unreadable, corrupt or of another version. */
export function readIndexFile<T>(
  projectsDir: string,
  name: string,
  isValid: (v: unknown) => v is T,
): T | null {
  return readIndexWith(projectsDir, name, (text) => {
    const value = JSON.parse(text);
    return isValid(value) ? value : null;
  });
}

/** Reads a cache file with `parse`; null when it is missing or unreadable, or `parse` refuses or throws. */
export function readIndexWith<T>(
  projectsDir: string,
  name: string,
  parse: (text: string) => T | null,
): T | null {
  try {
    return parse(Deno.readTextFileSync(join(projectsDir, INDEX_DIR, name)));
  } catch {
    return null;
  }
}

/**
 * Writes a cache file atomically (`value` as JSON, or a string as it is); false when it could not. Failures
 * are not errors: a read-only projects folder just means every listing is a cold scan.
 */
export async function writeIndexFile(projectsDir: string, name: string, value: unknown): Promise<boolean> {
  try {
    const path = join(projectsDir, INDEX_DIR, name);
    await Deno.mkdir(dirname(path), { recursive: true });
    await writeTextAtomic(path, typeof value === "string" ? value : JSON.stringify(value));
    return true;
  } catch {
    return false; // a cache that cannot be written is only a slower listing
  }
}

/** Cache files of earlier versions of dispatch-cc, replaced by the current ones. */
const OLD_VERSIONS = /^(list-v[12]\.json|list-v3-details\.json|search-v[12]-\d+\.txt|status-v1)$/;

/** Removes the cache files of earlier versions (list and search call it when they write); never throws. */
export async function dropOldVersions(projectsDir: string): Promise<void> {
  try {
    for (const e of Deno.readDirSync(join(projectsDir, INDEX_DIR))) {
      if (OLD_VERSIONS.test(e.name)) {
        await Deno.remove(join(projectsDir, INDEX_DIR, e.name), { recursive: true }).catch(() => {});
      }
    }
  } catch { /* no cache folder */ }
}

export { mapLimit } from "../map_limit.ts";

/** The project folders (sorted, hidden entries skipped), read synchronously; [] when the folder is missing. */
export function readProjectSlugs(projectsDir: string): string[] {
  const slugs: string[] = [];
  try {
    for (const e of Deno.readDirSync(projectsDir)) {
      if (e.isDirectory && !e.name.startsWith(".")) slugs.push(e.name);
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return slugs.sort();
}
