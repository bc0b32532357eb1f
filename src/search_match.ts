/**
 * What `search` counts as a match, on its own (no files): the lines of a text that contain a keyword,
 * case-insensitively, cut around the match; and a project's matches (slug, description, last result, then
 * each run's result, a result line already seen counted once).
 */
import type { SearchMatch } from "./render/projects.ts";
import type { SearchSource } from "./store/index_db.ts";

const MAX_LINE = 200;

/** One matching line, cut around the match to at most MAX_LINE characters. */
function shownLine(line: string, at: number): string {
  const shown = line.trim();
  if (shown.length <= MAX_LINE) return shown;
  const start = Math.max(0, at - 60);
  return (start > 0 ? "..." : "") + line.slice(start, start + MAX_LINE).trim() + "...";
}

/**
 * Whether a matching line of text k of a project counts: every line of the description (k 0) and of
 * last-result.txt (k 1), a run's line (k 2 on) only if no earlier result line was the same (the last result
 * is also the last run's). Records result lines in `seen`.
 */
function countsLine(k: number, line: string, seen: Set<string>): boolean {
  if (k === 0) return true;
  if (k >= 2 && seen.has(line)) return false;
  seen.add(line);
  return true;
}

/**
 * Calls `found` with each line of `text` that contains `needle` (lower-cased), as shown (cut around the
 * match), and where that line starts. Walks the occurrences in the lower-cased text instead of splitting
 * every text into lines: most texts hold none, a few hold some.
 */
function eachMatchingLine(text: string, needle: string, found: (line: string, start: number) => void): void {
  const lower = text.toLowerCase();
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
    const nl = pos === 0 ? (text[0] === "\n" ? 0 : -1) : text.lastIndexOf("\n", pos - 1);
    const start = nl + 1;
    const next = text.indexOf("\n", pos);
    const end = next === -1 ? text.length : next;
    found(shownLine(text.slice(start, end), pos - start), start);
    pos = end >= text.length ? -1 : lower.indexOf(needle, end + 1);
  }
}

/** The lines of `text` that contain `needle` (lower-cased), cut around the match, with their numbers. */
export function matchingLines(text: string, needle: string): { line_number: number; line: string }[] {
  const found: { line_number: number; line: string }[] = [];
  let lineNumber = 1;
  let counted = 0; // newlines before `counted` are in lineNumber
  eachMatchingLine(text, needle, (line, start) => {
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
  const problems = src.meta_problem ? [src.meta_problem] : [];
  for (const [id, , problem] of src.runs) if (problem) problems.push(`${id}-result.json ${problem}`);
  const slugMatches = slug.toLowerCase().includes(needle);
  const matches: SearchMatch[] = [];
  let count = 0;
  const seen = new Set<string>();
  /** Each matching line of text k that counts (countsLine): counted, and built when asked for. */
  const scan = (k: number, text: string, field: SearchMatch["field"], source: () => string | null) => {
    if (!build) {
      eachMatchingLine(text, needle, (line) => {
        if (countsLine(k, line, seen)) count++;
      });
      return;
    }
    for (const m of matchingLines(text, needle)) {
      if (!countsLine(k, m.line, seen)) continue;
      count++;
      matches.push({ slug, field, source: source(), ...m });
    }
  };
  if (slugMatches) {
    count++;
    if (build) matches.push({ slug, field: "slug", source: null, line_number: null, line: slug });
  }
  scan(0, src.description, "description", () => null);
  scan(1, src.last_result ?? "", "result", () => "last-result.txt");
  for (const [k, [id, text]] of src.runs.entries()) {
    if (text !== null) scan(k + 2, text, "result", () => `${id}-result.json`);
  }
  return { matches, count, problems };
}
