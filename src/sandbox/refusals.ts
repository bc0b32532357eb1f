/**
 * Writes the OS sandbox refused. Claude Code does not know about the sandbox: a Write outside the project
 * fails with EROFS, a Bash command with "Read-only file system", and the run still ends "success" with no
 * permission denial. Under a sandbox these tool errors are denials: listed per tool with the input, and
 * the run is BLOCKED, like a refusal by the permission mode.
 */
import type { Denial } from "../agents/events.ts";
import type { SandboxKind } from "./choice.ts";

/** A tool call the sandbox refused: a denial with where it came from and the error text. */
export interface SandboxDenial extends Denial {
  source: "sandbox";
  reason: string;
}

/** Error texts of writes a sandbox refuses (file system read-only, or an operation it forbids). */
export const SANDBOX_ERROR = /read-only file system|\bEROFS\b|operation not permitted|\bEPERM\b/i;

/**
 * The tool errors of a run that are sandbox refusals, as denials with the tool's name and input.
 * Without a sandbox the same texts mean something else (a real permission problem of the host), so the
 * list is empty then.
 *
 * @example
 * ```ts
 * const uses = new Map([["t1", { name: "Write", input: { file_path: "/etc/x" } }]]);
 * sandboxRefusals("bwrap", [{ tool_use_id: "t1", text: "EROFS: read-only file system, open '/etc/x'" }], uses);
 * // [{ tool: "Write", input: { file_path: "/etc/x" }, tool_use_id: "t1", source: "sandbox", reason: "EROFS: ..." }]
 * ```
 */
export function sandboxRefusals(
  kind: SandboxKind,
  toolErrors: { tool_use_id: string; text: string }[],
  uses: Map<string, { name: string; input: unknown }>,
): SandboxDenial[] {
  if (kind === "none") return [];
  return toolErrors.filter((e) => SANDBOX_ERROR.test(e.text)).map((e) => {
    const use = uses.get(e.tool_use_id);
    const line = e.text.split("\n").find((l) => SANDBOX_ERROR.test(l)) ?? e.text;
    return {
      tool: use?.name ?? "unknown",
      input: use?.input ?? null,
      tool_use_id: e.tool_use_id,
      source: "sandbox",
      reason: line.trim().slice(0, 300),
    };
  });
}
