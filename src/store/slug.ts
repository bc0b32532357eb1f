import { UsageError } from "../errors.ts";

export const MAX_SLUG_LENGTH = 100;

/**
 * The slug rule, once: 1-100 of `A-Z a-z 0-9 . _ -`, not starting with "." or "-", no "..". Task files
 * export it to JSON Schema; {@linkcode slugProblem} says which part a refused slug breaks.
 */
export const SLUG_PATTERN = /^(?![.-])(?!.*\.\.)[A-Za-z0-9._-]{1,100}$/;
const SLUG_CHARS = /^[A-Za-z0-9._-]+$/;

/**
 * Why a slug is unusable as a project folder name, or null when it is fine. A slug names one folder
 * directly under the projects directory, so it can never be `.`, climb with `..`, or hold a `/`.
 *
 * @example
 * ```ts
 * slugProblem("task-api"); // null
 * slugProblem("../etc");   // "must not contain \"..\""
 * ```
 */
export function slugProblem(slug: string): string | null {
  if (SLUG_PATTERN.test(slug)) return null;
  if (slug.length === 0) return "must not be empty";
  if (slug.length > MAX_SLUG_LENGTH) {
    return `must be at most ${MAX_SLUG_LENGTH} characters (got ${slug.length})`;
  }
  if (slug.includes("/") || slug.includes("\\")) return "must not contain a path separator";
  if (slug.includes("..")) return 'must not contain ".."';
  if (slug.startsWith(".")) return 'must not start with "."';
  if (slug.startsWith("-")) return 'must not start with "-"';
  if (!SLUG_CHARS.test(slug)) return "may only contain letters, digits, '.', '_' and '-'";
  return "is not a valid slug";
}

/** Returns the slug when valid, else throws a UsageError naming the problem. */
export function validateSlug(slug: string): string {
  const problem = slugProblem(slug);
  if (problem) throw new UsageError(`invalid slug ${JSON.stringify(slug)}: ${problem}`);
  return slug;
}
