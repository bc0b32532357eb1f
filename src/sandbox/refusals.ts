/**
 * Writes the OS sandbox refused. The specialist does not know about the sandbox, and a refused write need
 * not fail its tool call (`echo data > /opt/x; echo saved` exits 0): the run would end "success" with no
 * permission denial. Under a sandbox these are denials: listed with the path and the tool, and the run is
 * BLOCKED, like a refusal by the permission mode. Two sources:
 *
 * - exact: what landed in the run's own root, outside every bind (bwrap.ts `writesOutside`): the kernel
 *   put it there whatever the command printed or returned;
 * - from the tool output: the kernel's "Read-only file system" (EROFS) refusals for writes into the
 *   read-only binds (the system tree, `.dispatch-logs`, the agent's config), in any tool result, failed
 *   or not. A command that hides its error output (`2>/dev/null`) is refused all the same, but not seen.
 */
import type { Denial } from "../agents/events.ts";
import type { OutsideWrite } from "./bwrap.ts";
import type { SandboxKind } from "./choice.ts";

/** A tool call the sandbox refused: a denial with where it came from, the path and the error text. */
export interface SandboxDenial extends Denial {
  source: "sandbox";
  /** The path the write was refused at, when known. */
  path?: string;
  reason: string;
}

/** Error texts of writes a sandbox refuses (file system read-only, or an operation it forbids). */
export const SANDBOX_ERROR = /read-only file system|\bEROFS\b|operation not permitted|\bEPERM\b/i;

/** The kernel's read-only refusal: looked for in every tool result, failed or not. */
export const READ_ONLY_ERROR = /read-only file system|\bEROFS\b/i;

/** The path a read-only refusal names: `bash: /x: Read-only...`, `touch: cannot touch '/x': Read-only...`, `EROFS: ..., open '/x'`. */
function refusedPath(line: string): string | undefined {
  const erofs = line.match(/EROFS[^'"]*['"]([^'"]+)['"]/);
  if (erofs) return erofs[1];
  return line.match(/['"‘`]?([^\s'"‘’`:]+)['"’`]?: *read-only file system/i)?.[1];
}

/**
 * The tool results of a run that are sandbox refusals, as denials with the tool's name and input, one per
 * refused path. `results` are every tool result worth a look: the failed ones (any {@linkcode SANDBOX_ERROR})
 * and the successful ones naming a read-only refusal. Without a sandbox the same texts mean something
 * else (a real permission problem of the host), so the list is empty then.
 *
 * @example
 * ```ts
 * const uses = new Map([["t1", { name: "Write", input: { file_path: "/etc/x" } }]]);
 * sandboxRefusals("bwrap", [{ tool_use_id: "t1", text: "EROFS: read-only file system, open '/etc/x'" }], uses);
 * // [{ tool: "Write", input: { file_path: "/etc/x" }, tool_use_id: "t1", source: "sandbox", path: "/etc/x", reason: "EROFS: ..." }]
 * ```
 */
export function sandboxRefusals(
  kind: SandboxKind,
  results: { tool_use_id: string; text: string; is_error?: boolean }[],
  uses: Map<string, { name: string; input: unknown }>,
): SandboxDenial[] {
  if (kind === "none") return [];
  const out: SandboxDenial[] = [];
  const seen = new Set<string>();
  for (const r of results) {
    const pattern = r.is_error === false ? READ_ONLY_ERROR : SANDBOX_ERROR;
    const lines = r.text.split("\n").filter((l) => pattern.test(l));
    if (lines.length === 0) continue;
    const use = uses.get(r.tool_use_id);
    for (const line of lines) {
      const path = refusedPath(line);
      const key = `${r.tool_use_id}\0${path ?? ""}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({
        tool: use?.name ?? "unknown",
        input: use?.input ?? null,
        tool_use_id: r.tool_use_id,
        source: "sandbox",
        ...(path ? { path } : {}),
        reason: line.trim().slice(0, 300),
      });
    }
  }
  return out;
}

/**
 * Writes that landed in the run's own root, as denials: each with the tool call whose input names the path
 * (the last such call), or tool "unknown" when none does (a script written earlier, for example).
 *
 * @example
 * ```ts
 * const uses = new Map([["t1", { name: "Bash", input: { command: "echo x > /opt/r.txt" } }]]);
 * outsideRefusals([{ path: "/opt/r.txt", kind: "file" }], uses);
 * // [{ tool: "Bash", path: "/opt/r.txt", source: "sandbox", reason: "written outside the sandbox's binds; not kept", ... }]
 * ```
 */
export function outsideRefusals(
  writes: OutsideWrite[],
  uses: Map<string, { name: string; input: unknown }>,
): SandboxDenial[] {
  const calls = [...uses.entries()].map(([id, u]) => ({ id, ...u, text: JSON.stringify(u.input ?? "") }));
  return writes.map((w) => {
    const call = calls.findLast((c) => c.text.includes(w.path));
    return {
      tool: call?.name ?? "unknown",
      input: call?.input ?? null,
      ...(call ? { tool_use_id: call.id } : {}),
      source: "sandbox" as const,
      path: w.path,
      reason: `${w.kind} written outside what the sandbox lets the run write; not kept`,
    };
  });
}
