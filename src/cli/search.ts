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
 * Calls `found` with each line of `text` that contains `needle` (lower-cased), as shown (cut around the
 * match), and where that line starts. Walks the occurrences in the lower-cased text instead of splitting
 * every text into lines: most texts hold none, a few hold some.
 */
function eachMatchingLine(
  text: string,
  needle: string,
  lowered: string | null | undefined,
  found: (line: string, start: number) => void,
): void {
  const lower = lowered ?? text.toLowerCase();
  let pos = lower.indexOf(needle);
  if (pos === -1) return;
  if (lower.length !== text.length) {
    // Lower-casing changed lengths (rare letters such as "İ"): positions differ, so go line by line.
    let start = 0;
    for (const line of text.split("\n")) {
      const at = line.toLowerCase().indexOf(needle);
      if (at !== -1) found(shownLine(line, at), start);
      start += line.length + 1;
    }
    return;
  }
  while (pos !== -1) {
    const start = text.lastIndexOf("\n", pos - 1) + 1;
    let end = text.indexOf("\n", pos);
    if (end === -1) end = text.length;
    found(shownLine(text.slice(start, end), pos - start), start);
    pos = end >= text.length ? -1 : lower.indexOf(needle, end + 1);
  }
}

/** The lines of `text` that contain `needle` (lower-cased), cut around the match, with their numbers. */
export function matchingLines(
  text: string,
  needle: string,
  lowered?: string | null,
): { line_number: number; line: string }[] {
  const found: { line_number: number; line: string }[] = [];
  let lineNumber = 1;
  let counted = 0; // newlines before `counted` are in lineNumber
  eachMatchingLine(text, needle, lowered, (line, start) => {
    for (let i = text.indexOf("\n", counted); i !== -1 && i < start; i = text.indexOf("\n", i + 1)) {
      lineNumber++;
    }
    counted = start;
    found.push({ line_number: lineNumber, line });
  });
  return found;
}

/**
 * Matches one project: slug, description, last-result.txt, then every run's result text, newest first;
 * a line already shown (the last result is also the last run's) is shown once. With `build` false only
 * counts the matches, without their line numbers (search shows a few of many: building every match
 * would cost more than finding it).
 */
export function matchProject(
  slug: string,
  src: SearchSource,
  needle: string,
  build = true,
): { matches: SearchMatch[]; count: number; problems: string[] } {
  const matches: SearchMatch[] = [];
  const problems: string[] = [];
  let count = 0;
  const lower = src.lower;
  const may = (k: number) => !src.may_match || src.may_match.has(k);
  /** Each matching line of text k: counted, and built when asked for; `fresh` says whether to keep it. */
  const scan = (
    k: number,
    text: string,
    field: SearchMatch["field"],
    source: () => string | null,
    fresh: (line: string) => boolean,
  ) => {
    if (!may(k)) return;
    if (!build) {
      eachMatchingLine(text, needle, lower?.[k], (line) => {
        if (fresh(line)) count++;
      });
      return;
    }
    for (const m of matchingLines(text, needle, lower?.[k])) {
      if (!fresh(m.line)) continue;
      count++;
      matches.push({ slug, field, source: source(), ...m });
    }
  };
  if (slug.toLowerCase().includes(needle)) {
    count++;
    if (build) matches.push({ slug, field: "slug", source: null, line_number: null, line: slug });
  }
  if (src.meta_problem) problems.push(src.meta_problem);
  scan(0, src.description, "description", () => null, () => true);
  const seen = new Set<string>();
  scan(1, src.last_result ?? "", "result", () => "last-result.txt", (line) => {
    seen.add(line);
    return true;
  });
  for (const [k, [id, text, problem]] of src.runs.entries()) {
    if (problem) problems.push(`${id}-result.json ${problem}`);
    if (text === null) continue;
    scan(k + 2, text, "result", () => `${id}-result.json`, (line) => {
      if (seen.has(line)) return false;
      seen.add(line);
      return true;
    });
  }
  return { matches, count, problems };
}

/** A copy of `s` that does not keep alive the large text it was cut from (V8 slices share it). */
const detached = (s: string): string => JSON.parse(JSON.stringify(s));

/**
 * The first `limit` matches in slug order, from projects visited in any order, holding only the projects
 * that can still be among them (a search of a common word over a large tree stays small).
 */
export class FirstMatches {
  private kept: { slug: string; matches: SearchMatch[] }[] = [];
  private lines = 0;
  constructor(private readonly limit: number) {}

  /** Could a project with this slug still be shown? */
  wants(slug: string): boolean {
    return this.limit === 0 || this.lines < this.limit || slug < this.kept[this.kept.length - 1].slug;
  }

  add(slug: string, matches: SearchMatch[]): void {
    if (matches.length === 0 || !this.wants(slug)) return;
    const copy = matches.map((m) => ({ ...m, line: detached(m.line) }));
    let at = this.kept.length;
    while (at > 0 && this.kept[at - 1].slug > slug) at--;
    this.kept.splice(at, 0, { slug, matches: copy });
    this.lines += copy.length;
    // Drop the last project while the others already fill the limit.
    while (
      this.limit > 0 && this.kept.length > 1 &&
      this.lines - this.kept[this.kept.length - 1].matches.length >= this.limit
    ) {
      this.lines -= this.kept.pop()!.matches.length;
    }
  }

  result(): SearchMatch[] {
    const all = this.kept.flatMap((k) => k.matches);
    return this.limit === 0 ? all : all.slice(0, this.limit);
  }
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
    const first = new FirstMatches(limit);
    const problems: { slug: string; problem: string }[] = [];
    const total = { matches: 0, projects: 0 };
    await scanSearchSources(ctx.config.projectsDir, (slug, src) => {
      const counted = matchProject(slug, src, needle, false);
      for (const problem of counted.problems) problems.push({ slug, problem });
      if (counted.count === 0) return;
      total.matches += counted.count;
      total.projects++;
      if (first.wants(slug)) first.add(slug, matchProject(slug, src, needle).matches);
    }, { needle });
    problems.sort((a, b) => (a.slug < b.slug ? -1 : a.slug > b.slug ? 1 : 0));
    const matches = first.result();
    return {
      exitCode: 0,
      json: {
        version: JSON_VERSION,
        query,
        matches,
        problems,
        total_matches: total.matches,
        total_projects: total.projects,
        truncated: matches.length < total.matches,
      },
      text: renderSearch(query, matches, total),
    };
  },
};
