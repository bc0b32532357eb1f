/**
 * Facts fixed when the binary is built. `deno task compile` (scripts/compile.ts) compiles a copy of the
 * source in which this file names the commit; in the source tree it stays null and the commit is read
 * from git when asked (src/version_info.ts).
 */
export const BUILD_COMMIT: string | null = null;
