import type { HistoryEntry, ProjectTotals } from "../store/history.ts";
import { dollars, seconds } from "./format.ts";

/** Token counts as people read them: 1234 -> "1.2k". */
export function tokens(n: number | null | undefined): string {
  if (typeof n !== "number") return "-";
  return n >= 1_000_000
    ? `${(n / 1_000_000).toFixed(1)}M`
    : n >= 1000
    ? `${(n / 1000).toFixed(1)}k`
    : String(n);
}

/** One line of totals, for `status` and `history`. */
export function renderTotals(t: ProjectTotals): string {
  return `Total: ${t.runs} run${t.runs === 1 ? "" : "s"}, ${dollars(t.cost_usd)}, ${
    tokens(t.tokens.total)
  } tokens ` +
    `(${tokens(t.tokens.input_tokens)} in, ${tokens(t.tokens.output_tokens)} out, ` +
    `${tokens(t.tokens.cache_read_input_tokens + t.tokens.cache_creation_input_tokens)} cache)` +
    (t.runs_without_cost ? `; ${t.runs_without_cost} without a cost` : "");
}

/** `history`: one line per run, newest last, then the totals. */
export function renderHistory(
  slug: string,
  entries: HistoryEntry[],
  totals: ProjectTotals,
  shownOf: number,
): string {
  if (entries.length === 0) return `No runs in ${slug}`;
  const rows = entries.map((e) => [
    e.run_id,
    e.command ?? "-",
    e.started ? e.started.replace("T", " ").replace(/\.\d+Z$/, "Z") : "-",
    seconds(e.duration_ms),
    e.status,
    e.num_turns === null || e.num_turns === undefined ? "-" : String(e.num_turns),
    dollars(e.cost_usd),
    e.tokens
      ? tokens(
        e.tokens.input_tokens + e.tokens.output_tokens + e.tokens.cache_creation_input_tokens +
          e.tokens.cache_read_input_tokens,
      )
      : "-",
  ]);
  const header = ["RUN", "COMMAND", "STARTED", "DURATION", "STATUS", "TURNS", "COST", "TOKENS"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  const out = [line(header), ...rows.map(line)];
  if (shownOf > entries.length) {
    out.push(`(${shownOf - entries.length} earlier run(s) not shown; --limit N shows more)`);
  }
  out.push(renderTotals(totals));
  return out.join("\n");
}
