/**
 * dispatch-cc: hand heavy work from a cheap assistant to Claude Code and get structured results back.
 * Entry point: argv to a command, the command's result to stdout and an exit code.
 */
import { type Command, type CommandContext, type CommandResult, JSON_VERSION } from "./cli/context.ts";
import { joinValues, optionsHelp } from "./cli/options.ts";
import { closestMatch } from "./suggest.ts";
import { loadConfig } from "./config.ts";
import { stopNamedByCancel } from "./runner/stop_registry.ts";
import { DispatchError, environmentError, InterruptedError, UsageError } from "./errors.ts";
import { EXIT } from "./exit_codes.ts";
import { escapeJsonControls, visibleControls } from "./render/visible.ts";
import { stderrReporter } from "./report.ts";
import { VERSION } from "./version.ts";

/**
 * Each command's module is loaded only when that command runs: start-up is most of a `list` or `status`,
 * and they must not load the runner or zod and yaml (measured: ~150 ms of start-up when all load).
 */
export const COMMAND_LOADERS: Record<string, () => Promise<Command>> = {
  run: () => import("./cli/run.ts").then((m) => m.runCommand),
  resume: () => import("./cli/resume.ts").then((m) => m.resumeCommand),
  review: () => import("./cli/review.ts").then((m) => m.reviewCommand),
  status: () => import("./cli/status.ts").then((m) => m.statusCommand),
  list: () => import("./cli/list.ts").then((m) => m.listCommand),
  search: () => import("./cli/search.ts").then((m) => m.searchCommand),
  apply: () => import("./cli/apply.ts").then((m) => m.applyCommand),
  validate: () => import("./cli/validate.ts").then((m) => m.validateCommand),
  schema: () => import("./cli/schema.ts").then((m) => m.schemaCommand),
  wait: () => import("./cli/wait.ts").then((m) => m.waitCommand),
  logs: () => import("./cli/logs.ts").then((m) => m.logsCommand),
  cancel: () => import("./cli/cancel.ts").then((m) => m.cancelCommand),
  history: () => import("./cli/history.ts").then((m) => m.historyCommand),
  diff: () => import("./cli/diff.ts").then((m) => m.diffCommand),
  merge: () => import("./cli/merge.ts").then((m) => m.mergeCommand),
  remove: () => import("./cli/remove.ts").then((m) => m.removeCommand),
  guide: () => import("./cli/guide.ts").then((m) => m.guideCommand),
  doctor: () => import("./cli/doctor.ts").then((m) => m.doctorCommand),
  mcp: () => import("./cli/mcp.ts").then((m) => m.mcpCommand),
};

/** Every command, loaded (for the main help). */
export function loadCommands(): Promise<Command[]> {
  return Promise.all(Object.values(COMMAND_LOADERS).map((load) => load()));
}

function mainHelp(COMMANDS: Command[]): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    `dispatch-cc ${VERSION}: hand heavy work to Claude Code and get structured results back`,
    "",
    "Usage: dispatch-cc COMMAND [options]   (dispatch-cc COMMAND --help for its options)",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    "",
    "Every command takes --json: one JSON document on stdout, messages on stderr.",
    "Environment: DISPATCH_PROJECTS_DIR (~/dispatch-projects), DISPATCH_AGENT (claude; codex, gemini),",
    "             DISPATCH_CC_BIN (claude on PATH), DISPATCH_CODEX_BIN (codex), DISPATCH_GEMINI_BIN (gemini),",
    "             DISPATCH_TIMEOUT (600), DISPATCH_PERMISSION (acceptEdits), DISPATCH_MAX_PERMISSION (acceptEdits),",
    "             DISPATCH_SANDBOX (off; 1, nonet or claude), DISPATCH_ON_DONE (none),",
    "             DISPATCH_ON_DONE_TIMEOUT (60)",
    "Exit codes: 0 success, 1 specialist error, 2 usage, 3 not found, 4 blocked, 5 lock held,",
    "            6 turn/budget limit, 7 still running, 8 verify failed, 9 merge refused, 10 tampered outcome,",
    "            70 internal, 74 disk full or read-only folder, 124 timeout, 127 specialist CLI missing,",
    "            130 interrupted or cancelled",
  ].join("\n");
}

function commandHelp(c: Command): string {
  return [
    `Usage: ${c.usage}`,
    "",
    c.summary,
    "",
    "Options:",
    optionsHelp(c.options),
    ...(c.details ? ["", c.details] : []),
  ]
    .join("\n");
}

/** Reads all of standard input; an interruption (SIGINT/SIGTERM) while waiting for it ends the command. */
async function readAllStdin(signal: AbortSignal): Promise<string> {
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new InterruptedError("interrupted while reading the prompt from standard input"));
    if (signal.aborted) onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([new Response(Deno.stdin.readable).text(), aborted]);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/** The projects folder may be missing (it is created on the first run), but not something else. */
async function checkProjectsDir(dir: string): Promise<void> {
  const stat = await Deno.stat(dir).catch((err) => {
    if (err instanceof Deno.errors.NotFound) return null;
    throw new UsageError(
      `DISPATCH_PROJECTS_DIR=${dir} cannot be read: ${err instanceof Error ? err.message : err}`,
    );
  });
  if (stat && !stat.isDirectory) throw new UsageError(`DISPATCH_PROJECTS_DIR=${dir} is not a directory`);
}

/**
 * Commands that stop cleanly on SIGINT/SIGTERM through their abort signal (ending a run's process tree,
 * recording it, releasing the lock). Any other command has nothing to clean up and exits at once (130).
 */
const STOPS_ON_SIGNAL = new Set(["run", "resume", "review", "apply", "wait", "logs"]);

/**
 * Writes all of `text` to stdout, tolerating a closed pipe (a caller that stopped reading). Text for people
 * (`json` false) shows control characters visibly: this is the one place text output leaves.
 */
function writeStdout(text: string, json: boolean): void {
  const shown = json ? escapeJsonControls(text) : visibleControls(text);
  const data = new TextEncoder().encode(shown.endsWith("\n") ? shown : shown + "\n");
  try {
    let off = 0;
    while (off < data.length) off += Deno.stdout.writeSync(data.subarray(off));
  } catch { /* broken pipe */ }
}

/** The `--json` document of a command that failed before it had a result (README "JSON output"). */
function failureDocument(
  exitCode: number,
  kind: string,
  message: string,
  extra: Record<string, unknown> = {},
): string {
  return JSON.stringify(
    { version: JSON_VERSION, status: "failed", exit_code: exitCode, error: { kind, message, ...extra } },
    null,
    2,
  );
}

/** Runs the program on argv; returns the exit code. Separated from Deno.exit for tests. */
export async function main(argv: string[]): Promise<number> {
  // A detached run's supervisor (started by --detach): no terminal, one handler per request kind.
  if (argv.length === 2 && argv[0].startsWith("__")) {
    const { dispatchHandler, runSupervisor, SUPERVISE_ARG } = await import("./runner/detach.ts");
    if (argv[0] === SUPERVISE_ARG) {
      return await runSupervisor(argv[1], {
        dispatch: dispatchHandler,
        apply: async (payload, deps) =>
          await (await import("./spec/detached_apply.ts")).applyHandler(payload, deps),
      });
    }
  }
  // Output flags, read from the words as given until the command is known, then from its parsed words
  // (so that `--prompt --json` is a prompt, not the flag).
  let words = argv;
  const has = (...names: string[]) => names.some((n) => words.includes(n));
  let json = has("--json");
  let reporter = stderrReporter({
    progress: has("--verbose", "--progress") || Deno.stderr.isTerminal(),
    quiet: has("--quiet", "-q"),
  });
  const fail = (err: DispatchError): number => {
    if (json) {
      writeStdout(
        failureDocument(err.exitCode, err.kind, err.message, "files" in err ? { files: err.files } : {}),
        true,
      );
    }
    reporter.warn(`error: ${err.message}`);
    return err.exitCode;
  };

  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    writeStdout(mainHelp(await loadCommands()), false);
    return name === undefined ? EXIT.usage : EXIT.success;
  }
  if (name === "--version" || name === "version") {
    const { versionInfo, versionLine } = await import("./version_info.ts");
    const v = await versionInfo();
    writeStdout(json ? JSON.stringify({ version: JSON_VERSION, ...v }) : versionLine(v), json);
    return EXIT.success;
  }
  const command = Object.hasOwn(COMMAND_LOADERS, name) ? await COMMAND_LOADERS[name]() : undefined;
  if (!command) {
    const hint = closestMatch(name, Object.keys(COMMAND_LOADERS));
    return fail(
      new UsageError(
        `unknown command "${name}"${hint ? ` (did you mean ${hint}?)` : ""}; see dispatch-cc --help`,
      ),
    );
  }
  words = joinValues(rest, command.options);
  json = has("--json");
  reporter = stderrReporter({
    progress: has("--verbose", "--progress") || Deno.stderr.isTerminal(),
    quiet: has("--quiet", "-q"),
  });
  if (has("--help", "-h")) {
    writeStdout(commandHelp(command), false);
    return EXIT.success;
  }

  // From here on SIGINT/SIGTERM stop a run politely: the runner ends the child's whole tree, records the
  // run as interrupted and releases the lock, then the command returns 130. Commands with nothing to
  // clean up exit at once.
  const controller = new AbortController();
  const onSignal = () => {
    if (!STOPS_ON_SIGNAL.has(name)) Deno.exit(fail(new InterruptedError(`${name} interrupted`)));
    if (controller.signal.aborted) reporter.warn("already stopping: ending the run's processes");
    controller.abort("interrupted");
  };
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  // `cancel --slug S` of one slug of a foreground apply: its request names S's lock, and only S stops.
  const onTerm = () => {
    if (!stopNamedByCancel()) onSignal();
  };
  const handlers = signals.map((s) => [s, s === "SIGTERM" ? onTerm : onSignal] as const);
  for (const [s, h] of handlers) Deno.addSignalListener(s, h);
  let result: CommandResult;
  try {
    // A command that reports on the settings (doctor) reads them itself, and must run when they are wrong.
    const config = command.configure
      ? command.configure(Deno.env.toObject(), Deno.cwd())
      : loadConfig(Deno.env.toObject(), Deno.cwd());
    if (!command.configure) await checkProjectsDir(config.projectsDir);
    const ctx: CommandContext = {
      config,
      reporter,
      signal: controller.signal,
      readStdin: () => readAllStdin(controller.signal),
      write: (text) => writeStdout(text, json),
    };
    result = await command.run(rest, ctx);
  } catch (err) {
    if (err instanceof DispatchError) return fail(err);
    const refused = environmentError(err);
    if (refused) return fail(refused);
    const message = err instanceof Error ? err.stack ?? err.message : String(err);
    if (json) {
      writeStdout(
        failureDocument(EXIT.internal, "internal", String(err instanceof Error ? err.message : err)),
        true,
      );
    }
    reporter.warn(`internal error (please report): ${message}`);
    return EXIT.internal;
  } finally {
    for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
  }
  if (!result.printed) {
    writeStdout(json ? result.jsonText ?? JSON.stringify(result.json, null, 2) : result.text, json);
  }
  return result.exitCode;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
