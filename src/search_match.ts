/**
 * What `search` counts as a match, on its own (no files): the lines of a text that contain a keyword,
 * case-insensitively, cut around the match; a project's matches (slug, description, last result, then each
 * run's result, a result line already seen counted once); and the same count over many projects' texts at
 * once (`countBlock`), as the search cache stores them.
 */
import type { SearchMatch } from "./render/projects.ts";
import type { SearchSource } from "./store/search_index.ts";

const MAX_LINE = 200;

/** One matching line, cut around the match to at most MAX_LINE characters. */
function shownLine(line: string, at: number): string {
  const shown = line.trim();
  if (shown.length <= MAX_LINE) return shown;
  const start = Math.max(0, at - 60);
  return (start > 0 ? "..." : "") + line.slice(start, start + MAX_LINE).trim() + "...";
}

/**
 * The line around an occurrence at `pos` of a text lying at [from, to) of `s`: its start and end, as
 * `lastIndexOf`/`indexOf` over that text alone give them (a text that starts with a line break counts the
 * break as its first line, as `lastIndexOf("\n", -1)` does).
 */
function lineBounds(s: string, pos: number, from: number, to: number): [start: number, end: number] {
  const nl = pos === from ? (s[from] === "\n" ? from : -1) : s.lastIndexOf("\n", pos - 1);
  const end = s.indexOf("\n", pos);
  return [nl >= from ? nl + 1 : from, end === -1 || end >= to ? to : end];
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
    const [start, end] = lineBounds(text, pos, 0, text.length);
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
  // A source the cache has counted already (countBlock) holds only its problems until expanded.
  if (build && src.expand) src = src.expand();
  const problems = src.meta_problem ? [src.meta_problem] : [];
  for (const [id, , problem] of src.runs) if (problem) problems.push(`${id}-result.json ${problem}`);
  const slugMatches = slug.toLowerCase().includes(needle);
  if (!build && src.counted !== undefined) {
    return { matches: [], count: src.counted + (slugMatches ? 1 : 0), problems };
  }
  const matches: SearchMatch[] = [];
  let count = 0;
  const seen = new Set<string>();
  const lower = src.lower;
  const may = (k: number) => !src.may_match || src.may_match.has(k);
  /** Each matching line of text k that counts (countsLine): counted, and built when asked for. */
  const scan = (k: number, text: string, field: SearchMatch["field"], source: () => string | null) => {
    if (!may(k)) return;
    if (!build) {
      eachMatchingLine(text, needle, lower?.[k], (line) => {
        if (countsLine(k, line, seen)) count++;
      });
      return;
    }
    for (const m of matchingLines(text, needle, lower?.[k])) {
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

/** Where a row's texts lie in a block: the start of each, and its length (-1: no text). */
export interface BlockRow {
  start: number;
  lengths: number[];
}

/**
 * For each row of a block of concatenated texts (each row's description, last result, then run results,
 * as in SearchSource), what matchProject would count in its texts (the slug aside) and which texts hold
 * the needle at all, in one pass over the needle's occurrences in `lower` (the block lower-cased, of the
 * same length): the rows and texts without one cost nothing. Rows without a match are absent.
 */
export function countBlock(
  block: string,
  lower: string,
  needle: string,
  rows: BlockRow[],
): Map<number, { count: number; texts: Set<number> }> {
  const found = new Map<number, { count: number; texts: Set<number> }>();
  let r = -1;
  let k = 0;
  let ends: number[] = [];
  let seen = new Set<string>();
  let hit = { count: 0, texts: new Set<number>() };
  let pos = lower.indexOf(needle);
  while (pos !== -1) {
    if (r < 0 || pos >= ends[ends.length - 1]) {
      // A new row: the last whose texts start at or before pos.
      let lo = Math.max(r, 0);
      let hi = rows.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (rows[mid].start <= pos) lo = mid;
        else hi = mid - 1;
      }
      r = lo;
      ends = [];
      let at = rows[r].start;
      for (const len of rows[r].lengths) ends.push(at += Math.max(0, len));
      seen = new Set();
      hit = { count: 0, texts: new Set() };
      k = 0;
      if (pos >= ends[ends.length - 1]) {
        // Beyond every row's texts (a block longer than its rows say): not a match of any row.
        pos = lower.indexOf(needle, pos + 1);
        r = -1;
        continue;
      }
    }
    // Occurrences come in order: the text holding this one is the last one's or a later one.
    while (ends[k] <= pos) k++;
    const textStart = k === 0 ? rows[r].start : ends[k - 1];
    const textEnd = ends[k];
    if (pos + needle.length > textEnd) {
      // Runs into the next text: no match in either (each is searched on its own).
      pos = lower.indexOf(needle, pos + 1);
      continue;
    }
    hit.texts.add(k);
    found.set(r, hit);
    // The line as matchingLines cuts it from the text alone.
    const [start, end] = lineBounds(block, pos, textStart, textEnd);
    if (countsLine(k, shownLine(block.slice(start, end), pos - start), seen)) hit.count++;
    pos = end >= textEnd ? lower.indexOf(needle, textEnd) : lower.indexOf(needle, end + 1);
  }
  return found;
}
