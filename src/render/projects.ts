import type { ProjectView } from "../store/inspect.ts";
import type { RunLayers } from "../store/runs.ts";
import type { ListLine } from "../store/summary.ts";
import { dollars, indent, inputSummary, seconds } from "./format.ts";

/** `status`: the earlier tool's layout, with the run's facts and any problems. */
export function renderStatus(v: ProjectView): string {
  const out = [`Project: ${v.slug}`, `Path: ${v.project_dir}`];
  if (v.description) out.push(`Description: ${v.description}`);
  if (v.repo !== undefined) out.push(`Repository: ${v.repo} (branch ${v.branch})`);
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

/** Whitespace that one-line rendering changes: two in a row, or one that is not a plain space. */
const ODD_SPACE = /\s\s|[^\S ]/;

/** `list`: one line per project. */
export function renderList(entries: ListLine[], projectsDir: string): string {
  if (entries.length === 0) return `No projects in ${projectsDir}`;
  // Column by column in plain loops: at 100,000 projects, an array per row and a map per cell cost more
  // than the rest of the listing.
  const header = ["SLUG", "LAST ACTIVITY", "STATUS", "COST", "DESCRIPTION"];
  const n = entries.length;
  const updated = new Array<string>(n);
  const status = new Array<string>(n);
  const cost = new Array<string>(n);
  let w0 = header[0].length, w1 = header[1].length, w2 = header[2].length, w3 = header[3].length;
  for (let i = 0; i < n; i++) {
    const v = entries[i];
    updated[i] = v.updated ?? "-";
    status[i] = v.status === "none" ? "-" : v.status;
    // "+" marks totals missing the cost of some runs (crashed, corrupt).
    cost[i] = v.totals.runs === v.totals.runs_without_cost
      ? "-"
      : `${dollars(v.totals.cost_usd)}${v.totals.runs_without_cost ? "+" : ""}`;
    if (v.slug.length > w0) w0 = v.slug.length;
    if (updated[i].length > w1) w1 = updated[i].length;
    if (status[i].length > w2) w2 = status[i].length;
    if (cost[i].length > w3) w3 = cost[i].length;
  }
  const line = (a: string, b: string, c: string, d: string, e: string) =>
    `${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c.padEnd(w2)}  ${d.padStart(w3)}  ${e}`.trimEnd();
  const out = new Array<string>(n + 1);
  out[0] = line(header[0], header[1], header[2], header[3], header[4]);
  for (let i = 0; i < n; i++) {
    const v = entries[i];
    const text = v.description ?? "";
    // Only a description with line breaks, tabs or runs of spaces is rewritten (a replace of each of
    // 100,000 descriptions costs 80 ms).
    const description = (ODD_SPACE.test(text) ? text.replace(/\s+/g, " ") : text).slice(0, 60) +
      (v.branch !== undefined ? `  [${v.branch} of ${v.repo}]` : "") +
      (v.problems.length ? `  [${v.problems.join("; ")}]` : "");
    out[i + 1] = line(v.slug, updated[i], status[i], cost[i], description);
  }
  return out.join("\n");
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
