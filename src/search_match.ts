/**
 * What `search` counts as a match, on its own (no files): the lines of a text that contain a keyword,
 * case-insensitively, cut around the match; and a project's matches (slug, description, last result, then
 * each run's result, a result line already seen counted once).
 */
import type { SearchMatch } from "./render/projects.ts";
import type { SearchSource } from "./store/index_db.ts";

const MAX_LINE = 200;

/** One matching line, cut around the match (at `at`) to at most MAX_LINE characters. */
function shownLine(line: string, at: number): string {
  const shown = line.trim();
  if (shown.length <= MAX_LINE) return shown;
  const start = Math.max(0, at - 60);
  return (start > 0 ? "..." : "") + line.slice(start, start + MAX_LINE).trim() + "...";
}

/**
 * The lines of `text` that contain `needle` (lower-cased), cut around the match, numbered from 1 (unless
 * `numbered` is false: counting needs no numbers). Walks the needle's occurrences rather than every line
 * (most texts hold few); line by line where lower-casing changes lengths (rare letters such as "İ").
 */
export function matchingLines(text: string, needle: string, numbered = true) {
  const found: { line_number: number; line: string }[] = [];
  const lower = text.toLowerCase();
  if (lower.length !== text.length) {
    text.split("\n").forEach((line, i) => {
      const at = line.toLowerCase().indexOf(needle);
      if (at !== -1) found.push({ line_number: i + 1, line: shownLine(line, at) });
    });
    return found;
  }
  let lineNumber = 1;
  let counted = 0; // the newlines before `counted` are in lineNumber
  for (let pos = lower.indexOf(needle); pos !== -1;) {
    const start = (pos === 0 ? (text[0] === "\n" ? 0 : -1) : text.lastIndexOf("\n", pos - 1)) + 1;
    const next = text.indexOf("\n", pos);
    const end = next === -1 ? text.length : next;
    for (
      let i = text.indexOf("\n", counted);
      numbered && i !== -1 && i < start;
      i = text.indexOf("\n", i + 1)
    ) {
      lineNumber++;
    }
    counted = start;
    found.push({ line_number: lineNumber, line: shownLine(text.slice(start, end), pos - start) });
    pos = end >= text.length ? -1 : lower.indexOf(needle, end + 1);
  }
  return found;
}

/**
 * Matches one project: slug, description, last-result.txt, then every run's result text, newest first.
 * Every matching line of the description and of last-result.txt counts; a run's line only if no earlier
 * result line was the same (the last result is also the last run's). With `build` false only counts them
 * (search shows a few of many: building every match would cost more than finding it).
 */
export function matchProject(
  slug: string,
  src: SearchSource,
  needle: string,
  build = true,
): { matches: SearchMatch[]; count: number; problems: string[] } {
  const problems = src.meta_problem ? [src.meta_problem] : [];
  for (const [id, , problem] of src.runs) if (problem) problems.push(`${id}-result.json ${problem}`);
  const matches: SearchMatch[] = [];
  let count = 0;
  const seen = new Set<string>();
  const scan = (k: number, text: string | null, field: SearchMatch["field"], source: string | null) => {
    for (const m of matchingLines(text ?? "", needle, build)) {
      if (k >= 2 && seen.has(m.line)) continue;
      if (k > 0) seen.add(m.line);
      count++;
      if (build) matches.push({ slug, field, source, ...m });
    }
  };
  if (slug.toLowerCase().includes(needle)) {
    count++;
    if (build) matches.push({ slug, field: "slug", source: null, line_number: null, line: slug });
  }
  scan(0, src.description, "description", null);
  scan(1, src.last_result, "result", "last-result.txt");
  src.runs.forEach(([id, text], k) => scan(k + 2, text, "result", `${id}-result.json`));
  return { matches, count, problems };
}
