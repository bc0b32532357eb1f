/**
 * Text of the repository commands (diff --stat is git's own; merge, remove) and the `changes` line of a
 * run.
 */
import type { Changes } from "../git/changes.ts";
import type { MergeOutcome } from "../git/merge.ts";
import type { RemoveOutcome } from "../git/remove.ts";

/** "3 files changed, +12 -4" (git's counts; binary files count no lines). */
export function changesSummary(c: Changes): string {
  const n = c.files.length;
  return `${n} file${n === 1 ? "" : "s"} changed, +${c.insertions} -${c.deletions}`;
}

/** One line per file: status letter, counts, path. */
export function changesLines(c: Changes, max = 50): string[] {
  const letter = { added: "A", modified: "M", deleted: "D" } as const;
  const lines = c.files.slice(0, max).map((f) =>
    `  ${letter[f.status]} ${f.path}${f.binary ? " (binary)" : ` +${f.insertions} -${f.deletions}`}`
  );
  if (c.files.length > max) lines.push(`  ... and ${c.files.length - max} more`);
  return lines;
}

export function renderMerge(m: MergeOutcome): string {
  const short = (c: string) => c.slice(0, 12);
  const how = m.merge === "up-to-date"
    ? `${m.into} already has everything of ${m.branch}`
    : `Merged ${m.branch} into ${m.into} (${
      m.merge === "fast-forward" ? "fast-forward" : "merge commit"
    }): ` +
      `${m.into} is now ${short(m.commit)}`;
  return [
    `MERGED: ${m.slug} (${m.repo})`,
    ...(m.committed ? [`Committed the worktree's changes on ${m.branch}: ${short(m.committed)}`] : []),
    how,
    ...(m.merge === "up-to-date" ? [] : [changesSummary(m), ...changesLines(m)]),
  ].join("\n");
}

export function renderRemove(r: RemoveOutcome): string {
  const out = [`REMOVED: ${r.slug} (${r.project_dir})`];
  if (r.branch) {
    out.push(
      r.branch_deleted
        ? `Branch ${r.branch} deleted (${r.branch_reason})`
        : `Branch ${r.branch} kept${r.branch_reason ? ` (${r.branch_reason})` : ""}`,
    );
  }
  return out.join("\n");
}
