/**
 * Where Codex keeps its threads: `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<stamp>-<thread_id>.jsonl`
 * (CODEX_HOME defaults to `~/.codex`), one JSON line per entry, appended on resume. Read for three things:
 * does a thread still exist, its running token total before a resume, and the commands its read-only
 * sandbox refused (which `exec --json` does not print).
 */
import { join } from "../../paths.ts";
import type { Denial } from "../events.ts";
import { jsonObject, refusalLine } from "../refusal.ts";
import { isThreadId } from "./args.ts";
import { type CodexUsage, codexUsage } from "./events.ts";

/** Codex's home: $CODEX_HOME, else ~/.codex. */
export function codexHome(env: Record<string, string>): string {
  return env.CODEX_HOME || join(env.HOME ?? "", ".codex");
}

async function dirs(path: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(path)) if (e.isDirectory) out.push(e.name);
  } catch { /* missing */ }
  return out.sort().reverse();
}

/** The rollout file of thread `id`, or null (newest day folders first; ids that are not UUIDs: null). */
export async function findRollout(env: Record<string, string>, id: string): Promise<string | null> {
  if (!isThreadId(id)) return null;
  const root = join(codexHome(env), "sessions");
  const suffix = `-${id.toLowerCase()}.jsonl`;
  for (const y of await dirs(root)) {
    for (const m of await dirs(join(root, y))) {
      for (const d of await dirs(join(root, y, m))) {
        try {
          for await (const f of Deno.readDir(join(root, y, m, d))) {
            if (f.isFile && f.name.startsWith("rollout-") && f.name.toLowerCase().endsWith(suffix)) {
              return join(root, y, m, d, f.name);
            }
          }
        } catch { /* raced with a removal */ }
      }
    }
  }
  return null;
}

/** What a rollout says before a resumed run starts: its size and the thread's token total so far. */
export async function rolloutState(path: string): Promise<{ size: number; usage: CodexUsage | null }> {
  const text = await Deno.readTextFile(path);
  let usage: CodexUsage | null = null;
  for (const line of text.split("\n")) {
    if (!line.includes("total_token_usage")) continue;
    const e = jsonObject(line);
    const total = e?.type === "event_msg" && e.payload?.type === "token_count"
      ? codexUsage(e.payload?.info?.total_token_usage)
      : null;
    if (total) usage = total;
  }
  return { size: new TextEncoder().encode(text).length, usage };
}

/**
 * Shell calls the sandbox refused, from the rollout's entries after byte `offset` (this run's part): a
 * `function_call` whose `function_call_output` reads as a refusal ("Read-only file system").
 */
export async function refusalsInRollout(path: string, offset: number): Promise<Denial[]> {
  const bytes = await Deno.readFile(path);
  const text = new TextDecoder().decode(bytes.subarray(Math.min(offset, bytes.length)));
  const calls = new Map<string, { name: string; input: unknown }>();
  const out: Denial[] = [];
  for (const line of text.split("\n")) {
    const e = jsonObject(line);
    const p = e?.type === "response_item" ? e.payload : null;
    if (!p) continue;
    if (p.type === "function_call" || p.type === "custom_tool_call" || p.type === "local_shell_call") {
      let input: unknown = p.arguments ?? p.input ?? p.action ?? null;
      if (typeof input === "string") {
        try {
          input = JSON.parse(input);
        } catch { /* keep the text */ }
      }
      calls.set(String(p.call_id ?? ""), { name: String(p.name ?? p.type), input });
    } else if (p.type === "function_call_output" || p.type === "custom_tool_call_output") {
      const output = typeof p.output === "string" ? p.output : JSON.stringify(p.output ?? "");
      const reason = refusalLine(output);
      if (!reason) continue;
      const call = calls.get(String(p.call_id ?? ""));
      out.push({
        tool: call?.name ?? "shell",
        input: call?.input ?? null,
        tool_use_id: String(p.call_id ?? ""),
        source: "agent_sandbox",
        reason,
      });
    }
  }
  return out;
}
