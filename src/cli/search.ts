import { UsageError } from "../errors.ts";
import { renderSearch, type SearchMatch } from "../render/projects.ts";
import { scanSearchSources } from "../store/index_db.ts";
import { matchProject } from "../search_match.ts";
import { type Command, JSON_VERSION } from "./context.ts";
import { COMMON_OPTIONS } from "./dispatch_options.ts";
import { parseDecimal, parseOptions, str } from "./options.ts";

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
    const limit = rawLimit === undefined ? DEFAULT_SEARCH_LIMIT : parseDecimal(rawLimit, true);
    if (!Number.isSafeInteger(limit) || limit < 0) {
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
