import { dirname, isAbsolute, join, resolve } from "./paths.ts";
import { UsageError } from "./errors.ts";
import type { AgentName } from "./agents/agent.ts";
import { parseAgentName } from "./agents/names.ts";
import { parseSandboxSetting, type SandboxChoice } from "./sandbox/choice.ts";
import { DEFAULT_CEILING, parsePermission, type PermissionMode } from "./sandbox/permission.ts";

/** Everything dispatch-cc reads from its environment, read once at the edge and passed down. */
export interface Config {
  /** Where projects live: $DISPATCH_PROJECTS_DIR or ~/dispatch-projects. */
  projectsDir: string;
  /** $DISPATCH_CC_BIN, when set; otherwise `claude` is looked up on PATH. */
  claudeBin: string | null;
  /** Default timeout in seconds ($DISPATCH_TIMEOUT, 600). */
  timeoutS: number;
  /** Default permission mode ($DISPATCH_PERMISSION, acceptEdits). */
  permission: PermissionMode;
  /** The highest mode flags and task files may ask for without --allow-dangerous ($DISPATCH_MAX_PERMISSION). */
  ceiling: PermissionMode;
  /** The sandbox when neither flags nor the task file say ($DISPATCH_SANDBOX, none). */
  sandbox: SandboxChoice;
  /** The agent of new projects when neither --agent nor a task file says ($DISPATCH_AGENT; null: claude). */
  agent: AgentName | null;
  /** The folder the user ran the command from (relative paths resolve against it). */
  userCwd: string;
  /** The whole environment, for building the child's allow-listed one. */
  env: Record<string, string>;
}

export const DEFAULT_TIMEOUT_S = 600;

/**
 * The folder relative paths given by the user resolve against. Under `deno task` the process runs in the
 * folder of deno.json and the caller's folder is in INIT_CWD; anywhere else (the compiled binary, a plain
 * `deno run`) INIT_CWD may be a stale value set by some npm script, so it only counts when the process
 * runs in this program's own source folder.
 */
export function userCwd(env: Record<string, string>, cwd: string, programRoot: string | null): string {
  const init = env.INIT_CWD;
  if (init && programRoot && resolve(cwd) === resolve(programRoot) && isAbsolute(init)) return init;
  return cwd;
}

/** The source folder of this program when run from source (null in a compiled binary). */
export function programRoot(): string | null {
  // import.meta.dirname, not node:url's fileURLToPath: node:url costs ~8 ms of every start-up.
  return import.meta.dirname ? dirname(import.meta.dirname) : null;
}

/** The longest timeout: the largest delay a timer can wait (2^31 - 1 ms, about 24.8 days). */
export const MAX_TIMEOUT_S = 2_147_483;

const UNIT_SECONDS: Record<string, number> = { "": 1, s: 1, m: 60, h: 3600 };
/** A plain decimal number (no sign, hex, exponent or spaces) with an optional unit s, m or h. */
const SECONDS_PATTERN = /^([0-9]+(?:\.[0-9]+)?)([smh]?)$/;

/**
 * Parses a positive duration as given in a flag or an environment variable, in the forms task files take:
 * seconds (`90`, `1.5`) or a number with a unit (`90s`, `10m`, `1h`). Hex (`0x10`), exponents, signs and
 * surrounding spaces are refused: a typo must not become some other number.
 *
 * @example
 * ```ts
 * parseSeconds("10m", "--timeout"); // 600
 * ```
 */
export function parseSeconds(value: string, source: string): number {
  const match = SECONDS_PATTERN.exec(value);
  const n = match ? Number(match[1]) * UNIT_SECONDS[match[2]] : NaN;
  if (!Number.isFinite(n) || n <= 0) {
    throw new UsageError(
      `${source} must be a positive number of seconds or a duration like 90s, 10m or 1h, got ${
        JSON.stringify(value)
      }`,
    );
  }
  if (n > MAX_TIMEOUT_S) {
    throw new UsageError(
      `${source} must be at most ${MAX_TIMEOUT_S} seconds (about 24 days), got ${value}`,
    );
  }
  return n;
}

/**
 * Parses every setting now (they are otherwise parsed when a command first uses one): throws the
 * UsageError of the first malformed one. For `doctor`, which reports each.
 */
export function checkSettings(config: Config): void {
  void [config.timeoutS, config.permission, config.ceiling, config.sandbox, config.agent];
}

/**
 * Builds the configuration from the environment.
 *
 * @example
 * ```ts
 * const config = loadConfig(Deno.env.toObject(), Deno.cwd());
 * ```
 */
export function loadConfig(env: Record<string, string>, cwd: string, root = programRoot()): Config {
  const here = userCwd(env, cwd, root);
  const home = env.HOME ?? "";
  const rawDir = env.DISPATCH_PROJECTS_DIR?.trim();
  let projectsDir: string;
  if (rawDir) {
    projectsDir = resolve(here, rawDir.startsWith("~/") ? join(home, rawDir.slice(2)) : rawDir);
  } else {
    if (!home) throw new UsageError("HOME is not set: set DISPATCH_PROJECTS_DIR to say where projects live");
    projectsDir = join(home, "dispatch-projects");
  }
  // Each setting is parsed when a command first uses it: a typo in DISPATCH_TIMEOUT stops `run`, not
  // `cancel`, `wait`, `status`, `logs` or `list` (a shell with one bad variable can still stop a run).
  const parsed = new Map<string, unknown>();
  const once = <T>(key: string, parse: () => T): T => {
    if (!parsed.has(key)) parsed.set(key, parse());
    return parsed.get(key) as T;
  };
  return {
    projectsDir,
    claudeBin: env.DISPATCH_CC_BIN?.trim() || null,
    get timeoutS() {
      return once(
        "timeoutS",
        () =>
          env.DISPATCH_TIMEOUT?.trim()
            ? parseSeconds(env.DISPATCH_TIMEOUT.trim(), "DISPATCH_TIMEOUT")
            : DEFAULT_TIMEOUT_S,
      );
    },
    get permission() {
      return once(
        "permission",
        () =>
          env.DISPATCH_PERMISSION?.trim()
            ? parsePermission(env.DISPATCH_PERMISSION, "DISPATCH_PERMISSION")
            : "acceptEdits",
      );
    },
    get ceiling() {
      return once(
        "ceiling",
        () =>
          env.DISPATCH_MAX_PERMISSION?.trim()
            ? parsePermission(env.DISPATCH_MAX_PERMISSION, "DISPATCH_MAX_PERMISSION")
            : DEFAULT_CEILING,
      );
    },
    get sandbox() {
      return once("sandbox", () => parseSandboxSetting(env.DISPATCH_SANDBOX, "DISPATCH_SANDBOX"));
    },
    get agent() {
      return once(
        "agent",
        () => env.DISPATCH_AGENT?.trim() ? parseAgentName(env.DISPATCH_AGENT, "DISPATCH_AGENT") : null,
      );
    },
    userCwd: here,
    env,
  };
}
