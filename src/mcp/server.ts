/**
 * `dispatch-cc mcp`: a stdio MCP server over the same core as the command line. Each tool runs its command
 * in this process with the argv its inputs make (src/mcp/tools.ts), so parsing, checks, the permission
 * ceiling, the sandbox defaults and the `--json` document are those of the command line. Runs are always
 * started detached (the command's own `--detach`) and then waited for at most `wait_s`: a call never
 * outlasts a client's tool-call limit, and a client that cancels a call stops only the waiting.
 *
 * @module
 */
import { z } from "zod";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { describeToolUse } from "../agents/events.ts";
import { getAgent } from "../agents/registry.ts";
import type { Command, CommandContext, CommandResult } from "../cli/context.ts";
import { JSON_VERSION } from "../cli/context.ts";
import { loadConfig } from "../config.ts";
import { DispatchError, UsageError } from "../errors.ts";
import { EXIT } from "../exit_codes.ts";
import type { Reporter } from "../report.ts";
import { currentRunId, readRunView, readTranscript } from "../runner/watch.ts";
import { SEVERITY } from "../spec/apply.ts";
import { projectPaths } from "../store/project.ts";
import { validateSlug } from "../store/slug.ts";
import { VERSION } from "../version.ts";
import { checkRepoInput } from "./repo_roots.ts";
import { argvFor, DEFAULT_WAIT_S, inputShape, OUTPUT_SCHEMAS, TOOL_DEFS, type ToolDef } from "./tools.ts";

type Input = Record<string, unknown>;

/** What a tool call gets from the SDK that we use. */
interface CallExtra {
  signal: AbortSignal;
  _meta?: { progressToken?: string | number };
  sendNotification: (n: {
    method: "notifications/progress";
    params: { progressToken: string | number; progress: number; message?: string };
  }) => Promise<void>;
}

const INSTRUCTIONS = [
  "dispatch-cc hands heavy coding work to a specialist agent (Claude Code) in a project folder per slug.",
  "Loop: run {slug, prompt} -> if status is running, wait {slug, run_id} until it ends -> read result ->",
  "resume {slug, prompt: feedback} -> review {slug}. status success = done; blocked = tools were denied",
  "(see permission_denials); error/timeout/max_turns: read error, then resume or run again.",
  "Every result is the JSON document the command prints with --json.",
].join("\n");

/** The projects folder may be missing (the first run creates it), but not something else. */
async function checkProjectsDir(dir: string): Promise<void> {
  const stat = await Deno.stat(dir).catch((err) => {
    if (err instanceof Deno.errors.NotFound) return null;
    throw new UsageError(`DISPATCH_PROJECTS_DIR=${dir} cannot be read: ${(err as Error).message}`);
  });
  if (stat && !stat.isDirectory) throw new UsageError(`DISPATCH_PROJECTS_DIR=${dir} is not a directory`);
}

/** A tool result: the document as structured content and as its JSON text. */
function documentResult(doc: unknown, isError = false): CallToolResult {
  return {
    content: [{ type: "text", text: JSON.stringify(doc, null, 2) }],
    structuredContent: doc as Record<string, unknown>,
    ...(isError ? { isError: true } : {}),
  };
}

/** A refusal or usage error: the one-line message, and the `--json` failure document. */
function errorResult(exitCode: number, kind: string, message: string): CallToolResult {
  return {
    isError: true,
    content: [{ type: "text", text: message }],
    structuredContent: {
      version: JSON_VERSION,
      status: "failed",
      exit_code: exitCode,
      error: { kind, message },
    },
  };
}

/** The document a command result stands for (`--json`). */
function docOf(r: CommandResult): unknown {
  return r.jsonText !== undefined ? JSON.parse(r.jsonText) : r.json;
}

/** Progress for the client, when it asked for it (sent a progress token); otherwise nothing. */
function progressSender(extra: CallExtra): ((message: string) => void) | null {
  const token = extra._meta?.progressToken;
  if (token === undefined) return null;
  let n = 0;
  return (message) => {
    extra.sendNotification({
      method: "notifications/progress",
      params: { progressToken: token, progress: ++n, message },
    }).catch(() => {});
  };
}

/**
 * Follows a run's transcript while a call waits, sending what `--progress` shows a person: the session
 * starting, each tool call, each denial. Stops when `signal` aborts or the run ends.
 */
async function followProgress(
  projectsDir: string,
  slug: string,
  runId: string,
  send: (message: string) => void,
  signal: AbortSignal,
): Promise<void> {
  const paths = projectPaths(projectsDir, slug);
  const view = await readRunView(paths, runId).catch(() => null);
  const parse = getAgent(view?.kind === "record" ? view.record.agent : undefined).parser();
  const t0 = Date.now();
  let turns = 0;
  const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)}s${turns ? ` turn ${turns}` : ""}`;
  send(`[${elapsed()}] ${slug}: run ${runId} going on`);
  await readTranscript(paths, runId, (line) => {
    for (const ev of parse(line)) {
      if (ev.kind === "session") {
        send(`[${elapsed()}] session ${ev.session_id} started (${ev.model ?? "default model"})`);
      } else if (ev.kind === "denial") {
        send(`[${elapsed()}] denied: ${describeToolUse(ev.denial.tool, ev.denial.input)}`);
      } else if (ev.kind === "tool_use") {
        turns++;
        send(`[${elapsed()}] ${describeToolUse(ev.name, ev.input)}`);
      }
    }
  }, { follow: true, signal }).catch(() => {});
}

/** The tool-call context of a command: this process's settings, messages to stderr and progress. */
async function commandContext(extra: CallExtra, progress: ((m: string) => void) | null) {
  const config = loadConfig(Deno.env.toObject(), Deno.cwd());
  await checkProjectsDir(config.projectsDir);
  const enc = new TextEncoder();
  const reporter: Reporter = {
    warn: (m) => {
      try {
        Deno.stderr.writeSync(enc.encode(`dispatch-cc mcp: ${m}\n`));
      } catch { /* stderr closed */ }
    },
    progress: (m) => progress?.(m),
  };
  const ctx: CommandContext = {
    config,
    reporter,
    signal: extra.signal,
    readStdin: () => {
      throw new UsageError('prompt_file "-" (standard input) is not available over MCP: give prompt');
    },
  };
  return ctx;
}

/** Waits (`wait` command) for one run at most `waitS`, sending progress meanwhile. */
async function waitFor(
  waitCommand: Command,
  ctx: CommandContext,
  slug: string,
  runId: string | undefined,
  waitS: number,
  send: ((message: string) => void) | null,
  resultLimit: unknown,
): Promise<CommandResult> {
  const argv = [
    `--slug=${slug}`,
    // The wait command takes a positive number; 0 means: look once.
    `--timeout=${Math.max(waitS, 0.001)}`,
    ...(runId ? [`--run=${runId}`] : []),
    ...(resultLimit !== undefined ? [`--result-limit=${resultLimit}`] : []),
    "--json",
  ];
  const follow = new AbortController();
  const following = send
    ? (async () => {
      const id = runId ?? (await currentRunId(projectPaths(ctx.config.projectsDir, slug))).runId;
      if (id) await followProgress(ctx.config.projectsDir, slug, id, send, follow.signal);
    })().catch(() => {})
    : null;
  try {
    return await waitCommand.run(argv, ctx);
  } finally {
    follow.abort();
    await following;
  }
}

/** Runs one tool call to its document. */
async function callTool(
  def: ToolDef,
  command: Command,
  input: Input,
  extra: CallExtra,
  loadWait: () => Promise<Command>,
  opts: ServerOptions,
): Promise<CallToolResult> {
  try {
    if (typeof input.repo === "string") await checkRepoInput(input.repo, opts.allowRepos, opts.cwd);
    const started = Date.now();
    // One sender per call: a token's progress values must only grow.
    const send = progressSender(extra);
    const ctx = await commandContext(extra, send);
    const waitS = typeof input.wait_s === "number" ? input.wait_s : DEFAULT_WAIT_S;
    const left = () => Math.max(0, waitS - (Date.now() - started) / 1000);
    const argv = (flags: string[] = []) => argvFor(def, command, input, flags);

    if (def.name === "logs") return documentResult(await logsDocument(command, ctx, input, argv()));
    if (def.name === "wait") {
      const slug = validateSlug(String(input.slug ?? ""));
      const r = await waitFor(
        command,
        ctx,
        slug,
        input.run_id as string | undefined,
        waitS,
        send,
        input.result_limit,
      );
      return documentResult(docOf(r));
    }
    if (!def.waits || input.dry_run === true) {
      return documentResult(docOf(await command.run(argv(["--json"]), ctx)));
    }
    // A dispatching command: started in the background, then waited for.
    const start = await command.run(argv(["--detach", "--json"]), ctx);
    const doc = docOf(start) as Record<string, unknown>;
    // apply's task files with problems: nothing ran, the document lists them.
    if (doc?.status !== "started") return documentResult(doc, start.exitCode === EXIT.usage);
    const wait = await loadWait();
    if (def.name !== "apply") {
      const r = await waitFor(
        wait,
        ctx,
        String(doc.slug),
        String(doc.run_id),
        left(),
        send,
        input.result_limit,
      );
      return documentResult(docOf(r));
    }
    // apply: every slug to its last step, or the started document when wait_s passes first.
    const ends: Record<string, unknown>[] = [];
    for (const s of doc.slugs as { slug: string }[]) {
      const r = await waitFor(wait, ctx, s.slug, undefined, left(), send, undefined);
      if (r.exitCode === EXIT.stillRunning) return documentResult(doc);
      ends.push(docOf(r) as Record<string, unknown>);
    }
    const worst = ends.reduce<Record<string, unknown> | null>(
      (w, e) => !w || (SEVERITY[String(e.status)] ?? 6) > (SEVERITY[String(w.status)] ?? 6) ? e : w,
      null,
    );
    return documentResult({
      version: JSON_VERSION,
      command: "apply",
      status: "ended",
      exit_code: (worst?.exit_code as number | undefined) ?? EXIT.success,
      slugs: ends,
      done: doc.done,
    });
  } catch (err) {
    if (err instanceof DispatchError) return errorResult(err.exitCode, err.kind, err.message);
    const message = err instanceof Error ? err.message : String(err);
    return errorResult(EXIT.internal, "internal", `internal error (please report): ${message}`);
  }
}

const DEFAULT_TAIL = 200;

/** `logs`: the transcript's lines (or events) as one document, the last `tail` of them. */
async function logsDocument(command: Command, ctx: CommandContext, input: Input, argv: string[]) {
  const slug = validateSlug(String(input.slug ?? ""));
  let runId = input.run_id as string | undefined;
  if (runId === undefined) {
    runId = (await currentRunId(projectPaths(ctx.config.projectsDir, slug))).runId ?? undefined;
  }
  const lines: string[] = [];
  await command.run(
    [...argv, ...(runId && input.run_id === undefined ? [`--run=${runId}`] : [])],
    { ...ctx, write: (t) => lines.push(t) },
  );
  const tail = typeof input.tail === "number" ? input.tail : DEFAULT_TAIL;
  const shown = lines.slice(-tail);
  return {
    version: JSON_VERSION,
    slug,
    run_id: runId ?? null,
    ...(input.events === true
      ? { events: shown.map((l) => JSON.parse(l)) }
      : { lines: shown.flatMap((l) => l.split("\n")) }),
    total_lines: lines.length,
    truncated: shown.length < lines.length,
  };
}

/** What the person who starts the server decides (never the model). */
export interface ServerOptions {
  /** Folders whose repositories the `repo` input may name (none: `repo` is refused). */
  allowRepos: string[];
  /** Where relative paths resolve. */
  cwd: string;
}

/** The server with every tool registered (exported for tests that drive it in-process). */
export async function createServer(
  opts: ServerOptions = { allowRepos: [], cwd: Deno.cwd() },
): Promise<McpServer> {
  const server = new McpServer({ name: "dispatch-cc", version: VERSION }, { instructions: INSTRUCTIONS });
  const commands = await Promise.all(TOOL_DEFS.map((d) => d.load()));
  const waitDef = TOOL_DEFS.find((d) => d.name === "wait")!;
  TOOL_DEFS.forEach((def, i) => {
    const command = commands[i];
    server.registerTool(
      def.name,
      {
        description: `${def.description}\n(dispatch-cc ${def.name}: ${command.summary})`,
        // Strict: an input the tool does not take (a widening option, a typo) is an error, not ignored.
        inputSchema: z.strictObject(inputShape(def, command)),
        outputSchema: OUTPUT_SCHEMAS[def.name],
      },
      (input: Input, extra: unknown) => callTool(def, command, input, extra as CallExtra, waitDef.load, opts),
    );
  });
  return server;
}

interface NodeStdin {
  on(event: "end" | "close", listener: () => void): void;
}

/** Serves MCP on stdin/stdout until the client closes stdin. */
export async function serveStdio(opts?: ServerOptions): Promise<void> {
  const server = await createServer(opts);
  // The transport reads Node's process.stdin (the SDK's choice); its end is the client going away. Reached
  // through the global rather than an import of node:process (src/ imports no node: module).
  const stdin = (globalThis as unknown as { process: { stdin: NodeStdin } }).process.stdin;
  const closed = new Promise<void>((resolve) => {
    stdin.on("end", resolve);
    stdin.on("close", resolve);
  });
  await server.connect(new StdioServerTransport());
  await closed;
  await server.close().catch(() => {});
}
