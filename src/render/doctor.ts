import type { DoctorReport } from "../doctor/checks.ts";

const LABEL = { ok: "ok  ", warn: "warn", fail: "FAIL", info: "-   " } as const;

/**
 * `doctor` for a person: one line per check (status, name, what was found), its fix indented below, and
 * a closing line that says whether a default run can start.
 */
export function renderDoctor(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((c) => c.id.length)) + 2;
  const lines: string[] = [];
  for (const c of report.checks) {
    lines.push(`${LABEL[c.status]}  ${c.id.padEnd(width)}${c.summary}`);
    if (c.fix && c.status !== "ok") lines.push(`${" ".repeat(width + 6)}fix: ${c.fix}`);
  }
  const failed = report.checks.filter((c) => c.required && c.status === "fail").map((c) => c.id);
  const warned = report.checks.filter((c) => c.status === "warn").length;
  lines.push(
    "",
    failed.length
      ? `Missing for a default run: ${failed.join(", ")} (see the fixes above).`
      : `Everything a default run needs is here${
        warned ? ` (${warned} warning${warned > 1 ? "s" : ""} above)` : ""
      }.`,
  );
  return lines.join("\n");
}
