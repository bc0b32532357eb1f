import type { Config } from "../config.ts";
import type { Reporter } from "../report.ts";
import type { OptionSpecs } from "./options.ts";

/** What every command gets from main: configuration, where to report, the stop signal, stdin. */
export interface CommandContext {
  config: Config;
  reporter: Reporter;
  /** Aborted on SIGINT/SIGTERM ("interrupted"). */
  signal: AbortSignal;
  readStdin: () => Promise<string>;
  /** Writes to stdout at once, for output that streams (`logs --follow`). */
  write?: (text: string) => void;
}

/** What a command produced: the exit code, its JSON document, and the text for a person (stdout). */
export interface CommandResult {
  exitCode: number;
  json: unknown;
  /** The --json document already printed as JSON.stringify(json, null, 2) would print it (list at scale). */
  jsonText?: string;
  text: string;
  /** The output was already written through `write`: main prints nothing more. */
  printed?: boolean;
}

/** One command: name, help, options, and the function that runs it. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: OptionSpecs;
  positionals?: boolean;
  /** Extra help text after the options table. */
  details?: string;
  /**
   * Builds the configuration instead of main's `loadConfig`, for a command that must run even when the
   * environment's settings are invalid or the projects folder unusable (`doctor` reports them).
   */
  configure?(env: Record<string, string>, cwd: string): Config;
  run(argv: string[], ctx: CommandContext): Promise<CommandResult>;
}

/** Version of the --json document shapes (README "JSON output"). */
export const JSON_VERSION = 1;
