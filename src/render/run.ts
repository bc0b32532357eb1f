import type { RunRecord } from "../runner/dispatch.ts";
import { dollars, indent, inputSummary, seconds } from "./format.ts";

/**
 * The human report of a finished run: a status line, the facts an assistant acts on, then the result.
 *
 * @example
 * ```ts
 * console.log(renderRun(record));
 * ```
 */
export function renderRun(r: RunRecord): string {
  const out: string[] = [];
  out.push(`${r.status.toUpperCase()}: ${r.command} ${r.slug} (exit ${r.exit_code})`);
  out.push(`Project: ${r.project_dir}`);
  out.push(`Session: ${r.session_id ?? "-"}${r.session_mode === "resume" ? " (resumed)" : ""}`);
  out.push(
    `Turns: ${r.num_turns ?? "-"}  Duration: ${seconds(r.duration_ms)}  Cost: ${dollars(r.cost_usd)}` +
      (r.stop_reason ? `  Stop reason: ${r.stop_reason}` : ""),
  );
  if (r.files_touched.length) out.push(`Files written: ${r.files_touched.join(", ")}`);
  if (r.error) out.push(`Error: ${r.error}`);
  if (r.permission_denials.length) {
    out.push(`Denied (${r.permission_denials.length}):`);
    for (const d of r.permission_denials) out.push(`  ${d.tool}: ${inputSummary(d.input)}`);
  }
  if (r.ended_processes.length) {
    out.push(
      `Ended leftover processes: ${r.ended_processes.map((p) => `${p.pid} (${p.ended_by})`).join(", ")}`,
    );
  }
  out.push(`Record: ${r.record_file}`);
  if (r.result) {
    out.push("", "Result:", indent(r.result));
  }
  return out.join("\n");
}
