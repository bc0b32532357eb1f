/**
 * Step hashes for `apply` state: a step is done when its recorded hash still matches, so editing step k
 * re-runs k and everything after it (each hash includes the previous one) and nothing before.
 *
 * @module
 */
import type { LoadedTask } from "./load.ts";

/** JSON with object keys sorted and `undefined` members dropped, so equal content hashes equally. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * What each step's work depends on, in order: the first prompt (with the task's settings and the
 * command-line overrides, which every later step inherits through the chain), each follow-up, the review.
 * Prompt text counts, not where it was read from; the description does not change the work.
 */
export function stepInputs(task: LoadedTask, overrides: Record<string, unknown>): unknown[] {
  const {
    description: _description,
    prompt_file: _promptFile,
    on_done: _onDone, // a completion hook does not change the work
    follow_ups,
    review,
    ...settings
  } = task.spec;
  const steps: unknown[] = [{ step: "prompt", ...settings, overrides }];
  for (const { prompt_file: _file, ...followUp } of follow_ups) {
    steps.push({ step: "follow_up", ...followUp });
  }
  if (review) {
    const { prompt_file: _file, ...rest } = review;
    steps.push({ step: "review", ...rest });
  }
  return steps;
}

/**
 * One SHA-256 (hex) per step (prompt, each follow-up, then the review if any), each over the previous
 * hash and the step's canonical JSON. `previous` continues a chain: the last hash of an earlier task of the
 * same slug, so that changing that task re-runs this one too.
 *
 * @example
 * ```ts
 * const hashes = await stepHashes(task, { model: "opus" });
 * hashes.length === 1 + task.spec.follow_ups.length + (task.spec.review ? 1 : 0); // true
 * ```
 */
export async function stepHashes(
  task: LoadedTask,
  overrides: Record<string, unknown> = {},
  previous = "",
): Promise<string[]> {
  const hashes: string[] = [];
  for (const step of stepInputs(task, overrides)) {
    previous = await sha256Hex(canonicalJson({ previous, step }));
    hashes.push(previous);
  }
  return hashes;
}
