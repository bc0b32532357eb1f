import { UsageError } from "../errors.ts";
import { renderSearch, type SearchMatch } from "../render/projects.ts";
import { readJsonObjectSafe, readTextSafe } from "../store/files.ts";
import { listProjectSlugs } from "../store/inspect.ts";
import { projectPaths, readProjectMeta } from "../store/project.ts";
import { listRunIds, runFiles } from "../store/runs.ts";
import { type Command, JSON_VERSION } from "./context.ts";
import { COMMON_OPTIONS } from "./dispatch_options.ts";
import { parseOptions } from "./options.ts";

const MAX_LINE = 200;

/** The lines of `text` that contain `needle` (lower-cased), cut around the match. */
export function matchingLines(text: string, needle: string): { line_number: number; line: string }[] {
  const found: { line_number: number; line: string }[] = [];
  text.split("\n").forEach((line, i) => {
    const at = line.toLowerCase().indexOf(needle);
    if (at === -1) return;
    let shown = line.trim();
    if (shown.length > MAX_LINE) {
      const start = Math.max(0, at - 60);
      shown = (start > 0 ? "..." : "") + line.slice(start, start + MAX_LINE).trim() + "...";
    }
    found.push({ line_number: i + 1, line: shown });
  });
  return found;
}

/** Searches one project: slug, description, last-result.txt and every run's result text. */
async function searchProject(
  dir: string,
  slug: string,
  needle: string,
): Promise<{ matches: SearchMatch[]; problems: string[] }> {
  const paths = projectPaths(dir, slug);
  const matches: SearchMatch[] = [];
  const problems: string[] = [];
  if (slug.toLowerCase().includes(needle)) {
    matches.push({ slug, field: "slug", source: null, line_number: null, line: slug });
  }
  const meta = await readProjectMeta(paths);
  if (meta.problem) problems.push(meta.problem);
  for (const m of matchingLines(meta.meta?.description ?? "", needle)) {
    matches.push({ slug, field: "description", source: null, ...m });
  }
  const last = await readTextSafe(paths.lastResult);
  const seen = new Set<string>();
  if (last.ok) {
    for (const m of matchingLines(last.text, needle)) {
      seen.add(m.line);
      matches.push({ slug, field: "result", source: "last-result.txt", ...m });
    }
  }
  for (const id of (await listRunIds(paths.logsDir)).reverse()) {
    const r = await readJsonObjectSafe(runFiles(paths.logsDir, id).result);
    if (!r.ok) {
      if (r.problem !== "missing") problems.push(`${id}-result.json ${r.problem}`);
      continue;
    }
    if (typeof r.value.result !== "string") continue;
    for (const m of matchingLines(r.value.result, needle)) {
      if (seen.has(m.line)) continue; // the same text as last-result.txt: shown once
      seen.add(m.line);
      matches.push({ slug, field: "result", source: `${id}-result.json`, ...m });
    }
  }
  return { matches, problems };
}

export const searchCommand: Command = {
  name: "search",
  summary: "find projects whose slug, description or results contain a keyword (case-insensitive)",
  usage: "dispatch-cc search KEYWORD [--json]",
  options: COMMON_OPTIONS,
  positionals: true,
  async run(argv, ctx) {
    const p = parseOptions("search", argv, COMMON_OPTIONS, true);
    if (p.positionals.length !== 1 || p.positionals[0].trim() === "") {
      throw new UsageError('search takes one keyword: dispatch-cc search KEYWORD (quote it: "two words")');
    }
    const query = p.positionals[0];
    const needle = query.toLowerCase();
    const dir = ctx.config.projectsDir;
    const results = await Promise.all(
      (await listProjectSlugs(dir)).map(async (slug) => ({
        slug,
        ...(await searchProject(dir, slug, needle)),
      })),
    );
    const matches = results.flatMap((r) => r.matches);
    const problems = results.flatMap((r) => r.problems.map((problem) => ({ slug: r.slug, problem })));
    return {
      exitCode: 0,
      json: { version: JSON_VERSION, query, matches, problems },
      text: renderSearch(query, matches),
    };
  },
};
