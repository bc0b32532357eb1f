import type { ProjectView } from "../store/inspect.ts";
import type { RunLayers } from "../store/runs.ts";
import type { ListEntry } from "../store/summary.ts";
import { dollars, indent, inputSummary, seconds } from "./format.ts";

/** `status`: the earlier tool's layout, with the run's facts and any problems. */
export function renderStatus(v: ProjectView): string {
  const out = [`Project: ${v.slug}`, `Path: ${v.project_dir}`];
  if (v.description) out.push(`Description: ${v.description}`);
  out.push(`Last session: ${v.session_id ?? "-"}`);
  if (v.review_session_id) out.push(`Last review session: ${v.review_session_id}`);
  if (v.lock?.held) out.push(`Running: ${v.lock.reason}`);
  const r = v.last_run;
  if (r) {
    out.push(
      `Last run: ${r.run_id}${r.command ? ` (${r.command})` : ""}  [${v.runs} run${v.runs === 1 ? "" : "s"}]`,
    );
    out.push(
      `  Status: ${r.status === "blocked" ? `BLOCKED (${r.permission_denials.length} denied)` : r.status}`,
    );
    out.push(`  Duration: ${seconds(r.duration_ms)}`);
    out.push(`  Turns: ${r.num_turns ?? "-"}`);
    out.push(`  Cost: ${dollars(r.cost_usd)}`);
    if (r.stop_reason) out.push(`  Stop reason: ${r.stop_reason}`);
    if (r.error) out.push(`  Error: ${r.error}`);
    for (const d of r.permission_denials) {
      out.push(
        `  Denied: ${d.tool} ${inputSummary(d.input)}${d.source === "sandbox" ? " (by the sandbox)" : ""}`,
      );
    }
    if (r.layers) out.push(...renderLayers(r.layers));
  } else out.push("Last run: none");
  for (const p of v.problems) out.push(`Problem: ${p}`);
  if (v.last_result !== null) out.push("", "Last result:", indent(v.last_result));
  return out.join("\n");
}

/** `list`: one line per project. */
export function renderList(entries: ListEntry[], projectsDir: string): string {
  if (entries.length === 0) return `No projects in ${projectsDir}`;
  const rows = entries.map((v) => [
    v.slug,
    v.updated ?? "-",
    v.status === "none" ? "-" : v.status,
    v.totals.runs === v.totals.runs_without_cost
      ? "-"
      : `${dollars(v.totals.cost_usd)}${v.totals.runs_without_cost ? "+" : ""}`,
    (v.description ?? "").replace(/\s+/g, " ").slice(0, 60) +
    (v.problems.length ? `  [${v.problems.join("; ")}]` : ""),
  ]);
  const header = ["SLUG", "LAST ACTIVITY", "STATUS", "COST", "DESCRIPTION"];
  // A loop, not Math.max(...rows): spreading 100,000 arguments overflows the stack.
  const widths = [0, 1, 2, 3].map((i) => rows.reduce((w, r) => Math.max(w, r[i].length), header[i].length));
  // COST is right-aligned; "+" marks totals missing the cost of some runs (crashed, corrupt).
  const line = (r: string[]) =>
    r.map((c, i) => (i === 3 ? c.padStart(widths[i]) : i < 4 ? c.padEnd(widths[i]) : c)).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

export interface SearchMatch {
  slug: string;
  field: "slug" | "description" | "result";
  /** For results: which file the line is from. */
  source: string | null;
  line_number: number | null;
  line: string;
}

/** `search`: matches grouped by project, each with where it matched. */
export function renderSearch(
  query: string,
  matches: SearchMatch[],
  total: { matches: number; projects: number } = { matches: matches.length, projects: NaN },
): string {
  if (matches.length === 0) return `No project matches "${query}"`;
  const out: string[] = [];
  let last = "";
  for (const m of matches) {
    if (m.slug !== last) out.push(`${m.slug}:`);
    last = m.slug;
    const where = m.field === "result" ? `${m.source}${m.line_number ? `:${m.line_number}` : ""}` : m.field;
    out.push(`  ${where}: ${m.line}`);
  }
  if (total.matches > matches.length) {
    out.push(
      `(${total.matches - matches.length} more matching lines; ${total.matches} in ${total.projects} ` +
        `projects in all: use --limit 0 to see all, or a narrower keyword)`,
    );
  }
  return out.join("\n");
}

/** The sandbox layers a run had, for status. */
export function renderLayers(l: RunLayers): string[] {
  const sb = l.sandbox;
  return [
    `  Permission: ${l.permission ?? "-"} (ceiling ${l.permission_ceiling ?? "-"}${
      l.allow_dangerous ? ", lifted by --allow-dangerous" : ""
    })`,
    `  Sandbox: ${
      sb ? `${sb.kind}${sb.kind === "bwrap" ? `, network ${sb.network ? "on" : "off"}` : ""}` : "-"
    }`,
    `  Environment: ${l.env_names.length} names (${l.env_names.join(" ")})`,
  ];
}
