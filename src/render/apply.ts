/**
 * The human output of `apply`, `apply --dry-run` and `validate`.
 */
import type { TaskOutcome } from "../spec/apply.ts";
import type { DetachedApply } from "../spec/detached_apply.ts";
import type { DryRunStep } from "../spec/dry_run.ts";
import { formatProblem, type Problem } from "../spec/load.ts";
import { shellQuote } from "./shell_quote.ts";

const KIND: Record<string, string> = { prompt: "prompt", follow_up: "follow-up", review: "review" };

/**
 * The step-by-step summary of an apply.
 *
 * @example
 * ```ts
 * renderApply([{ slug: "a", file: "t.yaml", steps: [] }], 0);
 * ```
 */
export function renderApply(tasks: readonly TaskOutcome[], exitCode: number): string {
  const lines: string[] = [];
  let ran = 0, skipped = 0, notRun = 0;
  for (const t of tasks) {
    lines.push(`${t.slug} (${t.file})`);
    for (const s of t.steps) {
      const status = s.skipped ? `done earlier (${s.status})` : s.status === "not_run" ? "not run" : s.status;
      if (s.skipped) skipped++;
      else if (s.status === "not_run") notRun++;
      else ran++;
      const facts = [
        s.session_id ? `session ${s.session_id}` : "",
        s.run_id ? `run ${s.run_id}` : "",
      ].filter(Boolean).join("  ");
      lines.push(
        `  ${String(s.step).padStart(2)} ${KIND[s.kind].padEnd(9)} ${status.padEnd(22)} ${facts}`.trimEnd(),
      );
      if (s.error && !s.skipped) lines.push(`     ${s.error}`);
      if (s.verify) {
        lines.push(
          `     verify: ${s.verify.passed ? "passed" : "FAILED"} (${s.verify.attempts} check(s), exit ${
            s.verify.exit_code ?? "-"
          }): ${s.verify.command}`,
        );
      }
      if (s.structured_output !== undefined) {
        lines.push(`     structured output: ${JSON.stringify(s.structured_output).slice(0, 200)}`);
      }
      for (const line of firstLines(s.result ?? null)) lines.push(`     | ${line}`);
    }
  }
  lines.push(
    `apply: ${tasks.length} task(s); ${ran} step(s) run, ${skipped} done earlier, ${notRun} not run; exit ${exitCode}`,
  );
  return lines.join("\n");
}

/** The first lines of a step's result for the summary (each cut at 160 characters). */
function firstLines(text: string | null, n = 3): string[] {
  if (!text) return [];
  const all = text.split("\n").filter((l) => l.trim() !== "");
  const out = all.slice(0, n).map((l) => l.length > 160 ? l.slice(0, 157) + "..." : l);
  if (all.length > n) {
    out.push(`(${all.length - n} more line(s): see the run's record or dispatch-cc status)`);
  }
  return out;
}

/** What `apply --dry-run` would do, step by step. */
export function renderDryRun(steps: readonly DryRunStep[]): string {
  const lines: string[] = [];
  for (const s of steps) {
    const head = `${s.slug} step ${s.step} (${KIND[s.kind]}, ${s.file})`;
    if (s.action === "skip") {
      lines.push(`${head}: skip, done earlier on session ${s.session.id}`);
      continue;
    }
    const session = s.session.mode === "new"
      ? "new session"
      : `resume session ${s.session.id}${s.session.resume_at ? ` at ${s.session.resume_at}` : ""}`;
    lines.push(`${head}: run${s.when === "always" ? " (always)" : ""}, ${session}`);
    lines.push(`  command: ${[s.command, ...s.args].map(shellQuote).join(" ")}`);
    lines.push(`  stdin:   the prompt (${s.prompt_chars} characters)`);
    lines.push(`  cwd:     ${s.cwd}`);
    lines.push(
      `  permission: ${s.permission}; allowed tools: ${s.allowed_tools.join(", ") || "-"}; ` +
        `disallowed tools: ${s.disallowed_tools.join(", ") || "-"}; timeout ${s.timeout_s}s`,
    );
    lines.push(`  sandbox: ${s.sandbox}`);
    lines.push(`  env:     ${s.env_names.join(" ")}`);
  }
  lines.push(`dry run: ${steps.filter((s) => s.action === "run").length} step(s) would run; nothing was run`);
  return lines.join("\n");
}

/** Problems, one `file:line:col: message` per line, and a count. */
export function renderProblems(problems: readonly Problem[], tasks: number): string {
  if (problems.length === 0) return `ok: ${tasks} task(s)`;
  return [...problems.map(formatProblem), `${problems.length} problem(s)`].join("\n");
}

/** The text `apply --detach` prints. */
export function renderDetachedApply(d: DetachedApply): string {
  const lines = [`STARTED: apply in the background (supervisor pid ${d.supervisor_pid})`];
  for (const s of d.slugs) {
    lines.push(
      `  ${s.slug}: steps ${s.first_step}..${s.steps} (run ${s.run_id})`,
      `    wait: ${s.next.wait}   follow: ${s.next.logs}   cancel: ${s.next.cancel}`,
    );
  }
  if (d.done.length) lines.push(`Done earlier, nothing to run: ${d.done.join(", ")}`);
  return lines.join("\n");
}
