import { UsageError } from "../errors.ts";
import { renderSearch, type SearchMatch } from "../render/projects.ts";
import { scanSearchSources, type SearchSource } from "../store/search_index.ts";
import { type Command, JSON_VERSION } from "./context.ts";
import { COMMON_OPTIONS } from "./dispatch_options.ts";
import { parseOptions } from "./options.ts";

const MAX_LINE = 200;

/** The lines of `text` that contain `needle` (lower-cased), cut around the match. */
export function matchingLines(text: string, needle: string): { line_number: number; line: string }[] {
  const found: { line_number: number; line: string }[] = [];
  // Most texts do not match at all: one scan of the whole text before splitting it into lines.
  if (!text.toLowerCase().includes(needle)) return found;
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

/**
 * Matches one project: slug, description, last-result.txt, then every run's result text, newest first;
 * a line already shown (the last result is also the last run's) is shown once.
 */
export function matchProject(
  slug: string,
  src: SearchSource,
  needle: string,
): { matches: SearchMatch[]; problems: string[] } {
  const matches: SearchMatch[] = [];
  const problems: string[] = [];
  if (slug.toLowerCase().includes(needle)) {
    matches.push({ slug, field: "slug", source: null, line_number: null, line: slug });
  }
  if (src.meta_problem) problems.push(src.meta_problem);
  for (const m of matchingLines(src.description, needle)) {
    matches.push({ slug, field: "description", source: null, ...m });
  }
  const seen = new Set<string>();
  for (const m of matchingLines(src.last_result ?? "", needle)) {
    seen.add(m.line);
    matches.push({ slug, field: "result", source: "last-result.txt", ...m });
  }
  for (const [id, text, problem] of src.runs) {
    if (problem) problems.push(`${id}-result.json ${problem}`);
    if (text === null) continue;
    for (const m of matchingLines(text, needle)) {
      if (seen.has(m.line)) continue;
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
    const found: { slug: string; matches: SearchMatch[]; problems: string[] }[] = [];
    await scanSearchSources(ctx.config.projectsDir, (slug, src) => {
      const r = matchProject(slug, src, needle);
      if (r.matches.length || r.problems.length) found.push({ slug, ...r });
    }, { needle });
    found.sort((a, b) => (a.slug < b.slug ? -1 : a.slug > b.slug ? 1 : 0));
    const matches = found.flatMap((r) => r.matches);
    const problems = found.flatMap((r) => r.problems.map((problem) => ({ slug: r.slug, problem })));
    return {
      exitCode: 0,
      json: { version: JSON_VERSION, query, matches, problems },
      text: renderSearch(query, matches),
    };
  },
};
