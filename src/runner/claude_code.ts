/**
 * Everything specific to the Claude Code CLI: its argument list, its stream-json events, where it keeps
 * sessions, how to install it. Another specialist CLI would get a module of the same shape beside this.
 */
import { join } from "../paths.ts";
import type { PermissionMode } from "../sandbox/permission.ts";
import { isSessionId } from "../store/project.ts";

export const INSTALL_HINT = "install it with: npm install -g @anthropic-ai/claude-code " +
  "(or set DISPATCH_CC_BIN to the path of the claude binary)";

/** What one Claude Code invocation should do; built by the commands, turned into argv here. */
export interface ClaudeInvocation {
  session: { mode: "new" | "resume"; id: string };
  permission: PermissionMode;
  model?: string;
  maxTurns?: number;
  maxBudgetUsd?: number;
  allowedTools?: string[];
  disallowedTools?: string[];
  appendSystemPrompt?: string;
  /** Extra `--settings` JSON (Claude Code's own Bash sandbox, for example). */
  settings?: Record<string, unknown>;
  /**
   * With a resumed session: continue from this entry (an `assistant` event's uuid) instead of the end, so
   * that a failed turn after it is left out (hidden CLI flag `--resume-session-at`, checked with 2.1.328).
   */
  resumeSessionAt?: string;
}

/**
 * The argument list for a headless, streaming run. The prompt is never in argv (the kernel caps one
 * argument at 128 KiB and argv shows in `ps`): it goes on standard input, which `-p` reads.
 *
 * @example
 * ```ts
 * buildClaudeArgs({ session: { mode: "new", id: crypto.randomUUID() }, permission: "acceptEdits" });
 * // ["-p", "--output-format", "stream-json", "--verbose", "--permission-mode", "acceptEdits", "--session-id=…"]
 * ```
 *
 * Session ids and the resume point are single `--flag=value` elements (checked with 2.1.328): a value can
 * never be read as a flag of its own. They are UUIDs or the build throws: `--resume` also accepts a
 * session *title*, and these values may come back from files a run could have rewritten. (`--dry-run`
 * shows placeholders such as `<new-session-id>`, which no file can supply.)
 */
export function buildClaudeArgs(inv: ClaudeInvocation): string[] {
  const args = ["-p", "--output-format", "stream-json", "--verbose", "--permission-mode", inv.permission];
  if (!isUuidOrPlaceholder(inv.session.id)) {
    throw new Error(`not a session id: ${JSON.stringify(inv.session.id)}`);
  }
  args.push(`${inv.session.mode === "new" ? "--session-id" : "--resume"}=${inv.session.id}`);
  if (inv.session.mode === "resume" && inv.resumeSessionAt) {
    if (!isUuidOrPlaceholder(inv.resumeSessionAt)) {
      throw new Error(`not an event uuid: ${JSON.stringify(inv.resumeSessionAt)}`);
    }
    args.push(`--resume-session-at=${inv.resumeSessionAt}`);
  }
  if (inv.model) args.push("--model", inv.model);
  if (inv.maxTurns !== undefined) args.push("--max-turns", String(inv.maxTurns));
  if (inv.maxBudgetUsd !== undefined) args.push("--max-budget-usd", String(inv.maxBudgetUsd));
  if (inv.appendSystemPrompt) args.push("--append-system-prompt", inv.appendSystemPrompt);
  // One flag per tool: the lists are variadic in the CLI, and a flag before each value keeps a pattern
  // like "Bash(npm test:*)" from being read as anything else.
  for (const tool of inv.allowedTools ?? []) args.push("--allowedTools", tool);
  for (const tool of inv.disallowedTools ?? []) args.push("--disallowedTools", tool);
  if (inv.settings) args.push("--settings", JSON.stringify(inv.settings));
  return args;
}

const isUuidOrPlaceholder = (v: string) => isSessionId(v) || /^<[a-z -]+>$/.test(v);

/** Claude Code's own state folder: $CLAUDE_CONFIG_DIR or $HOME/.claude. */
export function claudeStateDir(env: Record<string, string>): string {
  return env.CLAUDE_CONFIG_DIR || join(env.HOME ?? "", ".claude");
}

/**
 * The folder under `<state>/projects/` where Claude Code keeps the sessions of working directory `cwd`
 * (an absolute, real path): every character other than `A-Z a-z 0-9` becomes "-"; a name over 200
 * characters is cut to 200 and gets "-" and a hash of the path (Java's string hash, absolute, base 36).
 * Checked against 2.1.328 (tests/sandbox_e2e.test.ts).
 *
 * @example
 * ```ts
 * claudeProjectFolder("/home/me/p.x"); // "-home-me-p-x"
 * ```
 */
export function claudeProjectFolder(cwd: string): string {
  const name = cwd.replace(/[^a-zA-Z0-9]/g, "-");
  if (name.length <= 200) return name;
  let hash = 0;
  for (let i = 0; i < cwd.length; i++) hash = (Math.imul(hash, 31) + cwd.charCodeAt(i)) | 0;
  return `${name.slice(0, 200)}-${Math.abs(hash).toString(36)}`;
}

/**
 * The folder holding session `id` (`<state>/projects/<folder>/<id>.jsonl`), or null. Looks in every
 * project folder: `--resume` works from any working directory and keeps appending where the session
 * began. An id that is not a UUID is never looked up (it would be joined into a path).
 */
export async function findSessionFolder(env: Record<string, string>, id: string): Promise<string | null> {
  if (!isSessionId(id)) return null;
  const projects = join(claudeStateDir(env), "projects");
  try {
    for await (const entry of Deno.readDir(projects)) {
      if (!entry.isDirectory) continue;
      try {
        await Deno.stat(join(projects, entry.name, `${id}.jsonl`));
        return join(projects, entry.name);
      } catch { /* not in this folder */ }
    }
  } catch { /* no projects folder yet */ }
  return null;
}

/**
 * Can Claude Code resume this session? Its transcript must be a regular file (not a link) holding at least
 * one conversation entry of this session: a damaged transcript (overwritten, truncated to garbage) makes
 * `--resume` exit 1 with "No conversation found", which a resume must never do (it starts afresh instead).
 * Only the first 4 MiB are read; a conversation entry comes within the first few lines. False for anything
 * that is not a UUID.
 */
export async function sessionExists(env: Record<string, string>, id: string): Promise<boolean> {
  const folder = await findSessionFolder(env, id);
  if (folder === null) return false;
  const path = join(folder, `${id}.jsonl`);
  try {
    const info = await Deno.lstat(path);
    if (!info.isFile) return false;
    using file = await Deno.open(path);
    const buf = new Uint8Array(Math.min(info.size, 4 << 20));
    let filled = 0;
    while (filled < buf.length) {
      const n = await file.read(buf.subarray(filled));
      if (n === null) break;
      filled += n;
    }
    for (const line of new TextDecoder().decode(buf.subarray(0, filled)).split("\n")) {
      const ev = parseEventLine(line);
      if (ev && (ev.type === "user" || ev.type === "assistant") && ev.sessionId === id) return true;
    }
  } catch { /* unreadable: not resumable */ }
  return false;
}

/** The session a Claude Code argument list resumes (`--resume=<id>`), or null. */
export function resumedSession(args: readonly string[]): string | null {
  const arg = args.find((a) => a.startsWith("--resume="));
  return arg ? arg.slice("--resume=".length) : null;
}

/** A tool call Claude Code refused, as listed in `permission_denials` and `system/permission_denied`. */
export interface Denial {
  tool: string;
  input: unknown;
  tool_use_id?: string;
}

/** Reads `permission_denials` from a result object, tolerating odd shapes. */
export function denialsFromResult(result: Record<string, unknown>): Denial[] {
  const list = result.permission_denials;
  if (!Array.isArray(list)) return [];
  return list.filter((d) => d && typeof d === "object").map((d) => ({
    tool: String(d.tool_name ?? d.tool ?? "unknown"),
    input: d.tool_input ?? d.input ?? null,
    ...(typeof d.tool_use_id === "string" ? { tool_use_id: d.tool_use_id } : {}),
  }));
}

/** One line of stream-json, parsed; `null` for a line that is not a JSON object. */
export type StreamEvent = Record<string, unknown> & { type?: string; subtype?: string };

export function parseEventLine(line: string): StreamEvent | null {
  const t = line.trim();
  if (!t.startsWith("{")) return null;
  try {
    const v = JSON.parse(t);
    return v && typeof v === "object" && !Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}

/** A short, human line for a tool call: its name and main argument (file path, command, pattern). */
export function describeToolUse(name: string, input: unknown): string {
  const i = (input && typeof input === "object" ? input : {}) as Record<string, unknown>;
  const main = i.file_path ?? i.command ?? i.pattern ?? i.path ?? i.url ?? i.description ?? "";
  const text = String(main).replace(/\s+/g, " ");
  return text ? `${name} ${text.length > 100 ? text.slice(0, 97) + "..." : text}` : name;
}

/** The tool calls in an `assistant` event's message content. */
export function toolUses(event: StreamEvent): { id: string; name: string; input: unknown }[] {
  const content = (event.message as { content?: unknown } | undefined)?.content;
  if (!Array.isArray(content)) return [];
  return content.filter((c) => c?.type === "tool_use").map((c) => ({
    id: String(c.id ?? ""),
    name: String(c.name ?? "unknown"),
    input: c.input,
  }));
}

/** The tool results in a `user` event: which call each answers, whether it failed, and its text. */
export function toolResults(event: StreamEvent): { tool_use_id: string; is_error: boolean; text: string }[] {
  const content = (event.message as { content?: unknown } | undefined)?.content;
  if (!Array.isArray(content)) return [];
  return content.filter((c) => c?.type === "tool_result").map((c) => ({
    tool_use_id: String(c.tool_use_id ?? ""),
    is_error: c.is_error === true,
    text: typeof c.content === "string"
      ? c.content
      : Array.isArray(c.content)
      ? c.content.map((p: { text?: string }) => p?.text ?? "").join(" ")
      : "",
  }));
}
