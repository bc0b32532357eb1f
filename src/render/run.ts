import type { RunRecord } from "../store/run_record.ts";
import { dollars, indent, inputSummary, seconds } from "./format.ts";
import { changesLines, changesSummary } from "./git.ts";

/** How many characters of a result the human output shows unless --result-limit says otherwise. */
export const DEFAULT_RESULT_LIMIT = 2000;

/** A result text cut to `limit` characters (none: whole), with what was cut. */
export function limitResult(
  text: string | null,
  limit?: number,
): { text: string | null; truncated: boolean; chars: number } {
  const chars = text?.length ?? 0;
  if (text === null || limit === undefined || chars <= limit) return { text, truncated: false, chars };
  return { text: text.slice(0, limit), truncated: true, chars };
}

/**
 * The `--json` document of a run: the record, with `result` cut to `--result-limit` when one is given
 * (the full text by default), and `result_truncated` / `result_chars` saying so.
 *
 * @example
 * ```ts
 * runJson(record, 500).result_truncated; // true when the result was longer than 500 characters
 * ```
 */
export function runJson(
  r: RunRecord,
  resultLimit?: number,
): RunRecord & { result_truncated: boolean; result_chars: number } {
  const cut = limitResult(r.result, resultLimit);
  return { ...r, result: cut.text, result_truncated: cut.truncated, result_chars: cut.chars };
}

/**
 * The human report of a finished run: a status line, the facts an assistant acts on, then the result,
 * cut to `resultLimit` characters (default 2000) with a pointer to the file that holds all of it.
 *
 * @example
 * ```ts
 * console.log(renderRun(record));
 * ```
 */
export function renderRun(r: RunRecord, opts: { resultLimit?: number } = {}): string {
  const out: string[] = [];
  out.push(`${r.status.toUpperCase()}: ${r.command} ${r.slug} (exit ${r.exit_code})`);
  out.push(`Project: ${r.project_dir}`);
  out.push(`Session: ${r.session_id ?? "-"}${r.session_mode === "resume" ? " (resumed)" : ""}`);
  out.push(
    `Turns: ${r.num_turns ?? "-"}  Duration: ${seconds(r.duration_ms)}  Cost: ${dollars(r.cost_usd)}` +
      (r.stop_reason ? `  Stop reason: ${r.stop_reason}` : ""),
  );
  if (r.files_touched.length) out.push(`Files written: ${r.files_touched.join(", ")}`);
  if (r.changes) out.push(`Changes: ${changesSummary(r.changes)}`, ...changesLines(r.changes, 20));
  if (r.error) out.push(`Error: ${r.error}`);
  if (r.permission_denials.length) {
    out.push(`Denied (${r.permission_denials.length}):`);
    for (const d of r.permission_denials) out.push(`  ${d.tool}: ${inputSummary(d.input)}`);
  }
  if (r.ended_processes?.length) {
    out.push(
      `Ended leftover processes: ${r.ended_processes.map((p) => `${p.pid} (${p.ended_by})`).join(", ")}`,
    );
  }
  out.push(`Record: ${r.record_file}`);
  if (r.result) {
    const cut = limitResult(r.result, opts.resultLimit ?? DEFAULT_RESULT_LIMIT);
    out.push("", "Result:", indent(cut.text ?? ""));
    if (cut.truncated) {
      out.push(
        "",
        `[result cut at ${cut.text!.length} of ${cut.chars} characters; all of it is in ${r.result_file} ` +
          `(field "result") and ${r.project_dir}/.dispatch-logs/last-result.txt; --result-limit N shows more]`,
      );
    }
  }
  return out.join("\n");
}

/** The human report of a run started with --detach. */
export function renderDetached(d: {
  run_id: string;
  slug: string;
  command: string;
  supervisor_pid: number;
  record_file: string;
  transcript_file: string;
  result_file: string;
  next: { wait: string; logs: string; cancel: string };
}): string {
  return [
    `STARTED: ${d.command} ${d.slug} in the background (run ${d.run_id}, supervisor pid ${d.supervisor_pid})`,
    `Wait for it:   ${d.next.wait}`,
    `Follow it:     ${d.next.logs}`,
    `Cancel it:     ${d.next.cancel}`,
    `Record:        ${d.record_file}`,
    `Transcript:    ${d.transcript_file}`,
    `Result:        ${d.result_file}`,
  ].join("\n");
}
