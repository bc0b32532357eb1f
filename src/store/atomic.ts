import { basename, dirname, join } from "../paths.ts";

/**
 * Writes a file so that readers see either the old or the new content, never a part: the text goes to a
 * temporary file in the same directory, which is then renamed over the target.
 *
 * @example
 * ```ts
 * await writeTextAtomic("/tmp/x/last-session-id", "5b1c...\n");
 * ```
 */
export async function writeTextAtomic(path: string, text: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`);
  try {
    await Deno.writeTextFile(tmp, text);
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    // A full disk has no room for a second copy: a file that exists is rewritten in place (its own blocks
    // are freed first), so that a run's record can still say how the run ended. Not atomic, but a
    // reader that sees a part reports the file as corrupt, which beats a record left "running".
    const code = (err as { code?: unknown }).code;
    if (
      (code === "ENOSPC" || code === "EDQUOT") && await Deno.stat(path).then((s) => s.isFile, () => false)
    ) {
      await Deno.writeTextFile(path, text);
      return;
    }
    throw err;
  }
}

/** Writes `value` as JSON indented by 2 with a final newline, atomically (the earlier tool's format). */
export function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  return writeTextAtomic(path, JSON.stringify(value, null, 2) + "\n");
}
