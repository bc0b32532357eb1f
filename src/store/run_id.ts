/**
 * Run ids: `<YYYYMMDD-HHMMSS>-<pid>`, as the earlier bash tool named its runs, with `.N` when one process
 * starts several. One pattern for naming, listing, sorting and dating runs. The earlier tool's stamps are
 * local time; dispatch-cc's are UTC (see `runStamp`), so that their order does not depend on `TZ`.
 *
 * @module
 */

/** A whole run id. Groups: the stamp, the pid, the sequence number (absent for the first). */
export const RUN_ID = /^(\d{8}-\d{6})-(\d+)(?:\.(\d+))?$/;
/** A file of a run, `<run id>-<kind>`; group 1 is the run id. */
export const RUN_FILE = new RegExp(
  `^(${RUN_ID.source.slice(1, -1)})-(run\\.json|result\\.json|events\\.jsonl|stderr\\.log)$`,
);

type RunIdKey = readonly [stamp: string, pid: number, seq: number];

function runIdKey(id: string): RunIdKey {
  const m = id.match(RUN_ID);
  return m ? [m[1], Number(m[2]), Number(m[3] ?? 1)] : [id, 0, 0];
}

function compareKeys([sa, pa, na]: RunIdKey, [sb, pb, nb]: RunIdKey): number {
  return sa < sb ? -1 : sa > sb ? 1 : pa - pb || na - nb;
}

/** Sort key for run ids: the stamp, then the pid, then the sequence number. */
export function compareRunIds(a: string, b: string): number {
  return compareKeys(runIdKey(a), runIdKey(b));
}

/**
 * `ids` sorted as `ids.sort(compareRunIds)` sorts them (the same stable order), each id's key taken once:
 * a folder of thousands of runs is sorted without a regular expression per comparison.
 */
export function sortRunIds(ids: readonly string[]): string[] {
  const keyed = ids.map((id) => ({ id, key: runIdKey(id) }));
  keyed.sort((a, b) => compareKeys(a.key, b.key));
  return keyed.map((k) => k.id);
}

/**
 * The local time a run id of the earlier tool names, as an ISO time (its runs record no start; ours have
 * a record with `started`); null when `runId` is not a run id.
 *
 * @example
 * ```ts
 * runIdStart("20260331-143022-12345.2"); // new Date(2026, 2, 31, 14, 30, 22).toISOString()
 * ```
 */
export function runIdStart(runId: string): string | null {
  const m = runId.match(RUN_ID)?.[1].match(/^(\d{4})(\d\d)(\d\d)-(\d\d)(\d\d)(\d\d)$/);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  const date = new Date(y, mo - 1, d, h, mi, s);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}
