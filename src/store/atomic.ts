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
    throw err;
  }
}

/** Writes `value` as JSON indented by 2 with a final newline, atomically (the earlier tool's format). */
export function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  return writeTextAtomic(path, JSON.stringify(value, null, 2) + "\n");
}
