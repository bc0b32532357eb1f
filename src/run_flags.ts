/**
 * How this program runs from source: `deno run` with these flags (the `dispatch-cc` task in deno.json,
 * the supervisor of a detached run, the tests and the benchmarks), and `deno compile` bakes the same
 * permission set and V8 flag into the binary. A test keeps deno.json's task in step.
 */

/**
 * Caps V8's young generation at 2 MB per semi-space. A run that streams hundreds of MB of events otherwise
 * grows it with the allocation rate: peak RSS 119 MB for a 395 MB transcript, 76 MB with the cap, and no
 * slower; list, search and status are no slower either (bench/RESULTS.md).
 */
export const V8_FLAG = "--v8-flags=--max-semi-space-size=2";

/** The `deno run` flags before the main module (with `--config deno.json` when run from elsewhere). */
export const DENO_RUN_FLAGS = ["-P=dispatch", "--no-prompt", "--quiet", V8_FLAG];
