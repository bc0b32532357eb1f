/**
 * Writes projects exactly as the earlier bash tool did: project.json (4 fields, indented by 2),
 * CLAUDE.md, last-session-id, last-result.txt and `<stamp>-<pid>-result.json` holding Claude Code's final
 * JSON result object. No run records, transcripts or locks.
 */
import { join } from "node:path";

export interface SeedRun {
  stamp: string;
  pid: number;
  result: Record<string, unknown> | string;
}

export async function writeSeedProject(
  projectsDir: string,
  slug: string,
  opts: { description: string; sessionId?: string; lastResult?: string; runs?: SeedRun[] },
): Promise<string> {
  const dir = join(projectsDir, slug);
  const logs = join(dir, ".dispatch-logs");
  await Deno.mkdir(logs, { recursive: true });
  await Deno.writeTextFile(join(dir, "CLAUDE.md"), `# Project: ${slug}\n\n${opts.description}\n`);
  await Deno.writeTextFile(
    join(logs, "project.json"),
    JSON.stringify(
      {
        slug,
        description: opts.description,
        created: "2026-03-31T14:30:22Z",
        updated: "2026-03-31T14:31:07Z",
      },
      null,
      2,
    ) +
      "\n",
  );
  if (opts.sessionId !== undefined) {
    await Deno.writeTextFile(join(logs, "last-session-id"), opts.sessionId + "\n");
  }
  if (opts.lastResult !== undefined) {
    await Deno.writeTextFile(join(logs, "last-result.txt"), opts.lastResult + "\n");
  }
  for (const run of opts.runs ?? []) {
    const text = typeof run.result === "string" ? run.result : JSON.stringify(run.result);
    await Deno.writeTextFile(join(logs, `${run.stamp}-${run.pid}-result.json`), text);
  }
  return dir;
}

/** A final result object as Claude Code prints it with --output-format json. */
export function seedResult(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: "result",
    subtype: "success",
    is_error: false,
    duration_ms: 45210,
    duration_api_ms: 40100,
    num_turns: 8,
    result: "Created a Flask REST API with full CRUD for tasks.",
    stop_reason: "end_turn",
    session_id: "a1b2c3d4-0000-4000-8000-000000000001",
    total_cost_usd: 0.1234,
    usage: {
      input_tokens: 1200,
      output_tokens: 800,
      cache_read_input_tokens: 0,
      cache_creation_input_tokens: 0,
    },
    permission_denials: [],
    ...fields,
  };
}
