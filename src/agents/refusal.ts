/**
 * Small helpers the agents' line parsers share: parsing one stdout line, and recognising a write an agent's
 * own sandbox refused in a command's output.
 */

/** Error texts of a write a sandbox refused (read-only file system, or an operation it forbids). */
export const SANDBOX_REFUSAL = /read-only file system|\bEROFS\b|operation not permitted|\bEPERM\b/i;

/** The first line of `text` that reads as a sandbox refusal, trimmed; null when there is none. */
export function refusalLine(text: string): string | null {
  if (!SANDBOX_REFUSAL.test(text)) return null;
  const line = text.split("\n").find((l) => SANDBOX_REFUSAL.test(l)) ?? text;
  return line.trim().slice(0, 300);
}

// deno-lint-ignore no-explicit-any
export type Json = Record<string, any>;

/** One stdout line as a JSON object, or null (not JSON, or not an object). */
export function jsonObject(line: string): Json | null {
  const t = line.trim();
  if (!t.startsWith("{")) return null;
  try {
    const v = JSON.parse(t);
    return v && typeof v === "object" && !Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}

/** Non-negative integer token counts only: anything else in a usage object is left out. */
export function count(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) && v >= 0 ? Math.floor(v) : 0;
}
