import { UsageError } from "../errors.ts";
import { renderSearch, type SearchMatch } from "../render/projects.ts";
import { scanSearchSources, type SearchSource } from "../store/search_index.ts";
import { type Command, JSON_VERSION } from "./context.ts";
import { COMMON_OPTIONS } from "./dispatch_options.ts";
import { parseOptions, str } from "./options.ts";

const MAX_LINE = 200;

/** One matching line, cut around the match to at most MAX_LINE characters. */
function shownLine(line: string, at: number): string {
  const shown = line.trim();
  if (shown.length <= MAX_LINE) return shown;
  const start = Math.max(0, at - 60);
  return (start > 0 ? "..." : "") + line.slice(start, start + MAX_LINE).trim() + "...";
}

/**
 * The lines of `text` that contain `needle` (lower-cased), cut around the match. Walks the occurrences in
 * the lower-cased text instead of splitting every text into lines: most texts hold none, a few hold some.
 */
export function matchingLines(text: string, needle: string): { line_number: number; line: string }[] {
  const found: { line_number: number; line: string }[] = [];
  const lower = text.toLowerCase();
  let pos = lower.indexOf(needle);
  if (pos === -1) return found;
  if (lower.length !== text.length) {
    // Lower-casing changed lengths (rare letters such as "İ"): positions differ, so go line by line.
    text.split("\n").forEach((line, i) => {
      const at = line.toLowerCase().indexOf(needle);
      if (at !== -1) found.push({ line_number: i + 1, line: shownLine(line, at) });
    });
    return found;
  }
  let lineNumber = 1;
  let counted = 0; // newlines before `counted` are in lineNumber
  while (pos !== -1) {
    const start = text.lastIndexOf("\n", pos - 1) + 1;
    for (let i = text.indexOf("\n", counted); i !== -1 && i < start; i = text.indexOf("\n", i + 1)) {
      lineNumber++;
    }
    counted = start;
    let end = text.indexOf("\n", pos);
    if (end === -1) end = text.length;
    found.push({ line_number: lineNumber, line: shownLine(text.slice(start, end), pos - start) });
    pos = end >= text.length ? -1 : lower.indexOf(needle, end + 1);
  }
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

const options = {
  limit: {
    type: "string" as const,
    arg: "N",
    help: "show at most N matching lines (default 100; 0 for all)",
  },
  ...COMMON_OPTIONS,
};

export const DEFAULT_SEARCH_LIMIT = 100;

export const searchCommand: Command = {
  name: "search",
  summary: "find projects whose slug, description or results contain a keyword (case-insensitive)",
  usage: "dispatch-cc search KEYWORD [--limit N] [--json]",
  options,
  positionals: true,
  details:
    "Matches are ordered by project slug. An assistant's context is small: at most --limit lines are\n" +
    "shown (default 100); the output says how many there were in all, and in how many projects.",
  async run(argv, ctx) {
    const p = parseOptions("search", argv, options, true);
    if (p.positionals.length !== 1 || p.positionals[0].trim() === "") {
      throw new UsageError('search takes one keyword: dispatch-cc search KEYWORD (quote it: "two words")');
    }
    const rawLimit = str(p, "limit");
    const limit = rawLimit === undefined ? DEFAULT_SEARCH_LIMIT : Number(rawLimit.trim());
    if (!Number.isSafeInteger(limit) || limit < 0 || rawLimit?.trim() === "") {
      throw new UsageError(`--limit must be a whole number (0 for all), got ${JSON.stringify(rawLimit)}`);
    }
    const query = p.positionals[0];
    const needle = query.toLowerCase();
    const found: { slug: string; matches: SearchMatch[]; problems: string[] }[] = [];
    await scanSearchSources(ctx.config.projectsDir, (slug, src) => {
      const r = matchProject(slug, src, needle);
      if (r.matches.length || r.problems.length) found.push({ slug, ...r });
    }, { needle });
    found.sort((a, b) => (a.slug < b.slug ? -1 : a.slug > b.slug ? 1 : 0));
    const all = found.flatMap((r) => r.matches);
    const matches = limit === 0 ? all : all.slice(0, limit);
    const problems = found.flatMap((r) => r.problems.map((problem) => ({ slug: r.slug, problem })));
    const total = { matches: all.length, projects: found.filter((r) => r.matches.length > 0).length };
    return {
      exitCode: 0,
      json: {
        version: JSON_VERSION,
        query,
        matches,
        problems,
        total_matches: total.matches,
        total_projects: total.projects,
        truncated: matches.length < all.length,
      },
      text: renderSearch(query, matches, total),
    };
  },
};
