import { UsageError } from "../errors.ts";

/**
 * What every agent's child inherits, whatever the CLI: the process basics, locale, proxies and certificate
 * authorities. An agent other than Claude Code gets these plus its own names (`Agent.envNames`,
 * `envPrefixes`: CODEX_HOME, OPENAI_API_KEY, GEMINI_API_KEY, ...), and none of Claude Code's.
 */
export const COMMON_NAMES: readonly string[] = [
  ...["PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TERM", "COLORTERM", "TZ", "TMPDIR"],
  ...[
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
  ],
  ...["NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "SSL_CERT_DIR"],
];

/**
 * Names the child inherits as they are: the process basics, then what Claude Code reads (its docs'
 * "Environment variables" page, Bedrock / Vertex setup, corporate proxy and certificate pages).
 */
export const INHERITED_NAMES: readonly string[] = [
  // Process basics, proxies and certificate authorities: what every agent's child gets.
  ...COMMON_NAMES,
  // Amazon Bedrock (CLAUDE_CODE_USE_BEDROCK=1): region, profile or keys, Bedrock API keys.
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  "AWS_PROFILE",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_BEARER_TOKEN_BEDROCK",
  "AWS_CONFIG_FILE",
  "AWS_SHARED_CREDENTIALS_FILE",
  // Google Vertex AI (CLAUDE_CODE_USE_VERTEX=1): project, region, credentials file.
  "CLOUD_ML_REGION",
  "GOOGLE_APPLICATION_CREDENTIALS",
  "GOOGLE_CLOUD_PROJECT",
  "GCLOUD_PROJECT",
  // Documented Claude Code settings without a CLAUDE_ / ANTHROPIC_ prefix.
  "API_TIMEOUT_MS",
  "BASH_DEFAULT_TIMEOUT_MS",
  "BASH_MAX_TIMEOUT_MS",
  "BASH_MAX_OUTPUT_LENGTH",
  "MAX_THINKING_TOKENS",
  "MAX_MCP_OUTPUT_TOKENS",
  "MCP_TIMEOUT",
  "MCP_TOOL_TIMEOUT",
  "USE_BUILTIN_RIPGREP",
  "DISABLE_AUTOUPDATER",
  "DISABLE_BUG_COMMAND",
  "DISABLE_COST_WARNINGS",
  "DISABLE_ERROR_REPORTING",
  "DISABLE_NON_ESSENTIAL_MODEL_CALLS",
  "DISABLE_TELEMETRY",
];

/** Families of names the child inherits: every name that starts with one of these. */
export const INHERITED_PREFIXES: readonly string[] = [
  "LC_", // locale categories (LC_ALL, LC_CTYPE, ...)
  "ANTHROPIC_", // API key / auth token, base URL, models, custom headers, ANTHROPIC_VERTEX_PROJECT_ID, ...
  "CLAUDE_", // CLAUDE_CODE_USE_BEDROCK / _VERTEX, CLAUDE_CONFIG_DIR, CLAUDE_CODE_MAX_RETRIES, ...
  "VERTEX_REGION_", // per-model Vertex regions (VERTEX_REGION_CLAUDE_...)
  "DISABLE_PROMPT_CACHING", // DISABLE_PROMPT_CACHING and its per-model variants
  "OTEL_", // Claude Code's OpenTelemetry export (with CLAUDE_CODE_ENABLE_TELEMETRY)
];

/**
 * Names Claude Code sets for the processes it starts, describing *its* session (IDE port, session id,
 * hook env file, project dir). When dispatch-cc is itself called from a Claude Code session they are in
 * our environment; passed on, the specialist would attach to the caller's IDE or hook state. Dropped
 * although they match `CLAUDE_`; naming one in `extraNames` still passes it.
 */
export const PARENT_SESSION_NAMES: readonly string[] = [
  "CLAUDECODE",
  "CLAUDE_CODE_ENTRYPOINT",
  "CLAUDE_CODE_SSE_PORT",
  "CLAUDE_CODE_SESSION_ID",
  "CLAUDE_CODE_CHILD_SESSION",
  "CLAUDE_CODE_EXECPATH",
  "CLAUDE_ENV_FILE",
  "CLAUDE_PROJECT_DIR",
  // Set for an MCP server Claude Code starts (seen with 2.1.328 when it runs `dispatch-cc mcp`): its
  // messaging socket and token would let the specialist talk to the caller's session.
  "CLAUDE_CODE_MESSAGING_SOCKET",
  "CLAUDE_CODE_MESSAGING_TOKEN",
  "CLAUDE_CODE_CHILD_NOTES_DIR",
  "CLAUDE_CODE_LAUNCHED_BY_SESSION_IDS",
];

export const COMMON_PREFIXES: readonly string[] = ["LC_"];

/** The variables of one agent (absent: Claude Code's allow-list above). */
export interface AgentEnv {
  /** Claude Code: the allow-list above, as it is. */
  claude: boolean;
  names: readonly string[];
  prefixes: readonly string[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const EXACT = new Set(INHERITED_NAMES);
const PARENT_SESSION = new Set(PARENT_SESSION_NAMES);

/** Whether the allow-list lets `name` through (without `extraNames`); `agent`: for that agent's child. */
export function isInheritedName(name: string, agent?: AgentEnv): boolean {
  if (PARENT_SESSION.has(name)) return false;
  if (agent && !agent.claude) {
    return COMMON_NAMES.includes(name) || agent.names.includes(name) ||
      [...COMMON_PREFIXES, ...agent.prefixes].some((p) => name.startsWith(p));
  }
  return EXACT.has(name) || INHERITED_PREFIXES.some((p) => name.startsWith(p));
}

/** Options of {@linkcode childEnv}. */
export interface ChildEnvOptions {
  /** More names to pass through (from `--env` or a task file); each must be a plain variable name. */
  extraNames?: string[];
  /** Values dispatch-cc sets itself (run marker, IS_SANDBOX, TMPDIR); they win over inherited ones. */
  set?: Record<string, string>;
  /** The agent the child runs (absent: Claude Code). */
  agent?: AgentEnv;
}

/**
 * The environment of the Claude Code child: the allow-listed names of `parent`, the `extraNames` the
 * user asked for, then `set`. Everything else (tokens of other services, `DISPATCH_*`) is dropped.
 *
 * @example
 * ```ts
 * const env = childEnv(Deno.env.toObject(), { extraNames: ["NPM_TOKEN"], set: { DISPATCH_RUN_ID: "r1" } });
 * // env has PATH, HOME, ANTHROPIC_API_KEY, ..., NPM_TOKEN and DISPATCH_RUN_ID; no GITHUB_TOKEN.
 * ```
 */
export function childEnv(parent: Record<string, string>, opts: ChildEnvOptions = {}): Record<string, string> {
  const extra = new Set<string>();
  for (const name of opts.extraNames ?? []) {
    if (!NAME.test(name)) {
      throw new UsageError(
        `environment variable name ${JSON.stringify(name)} is not valid: use letters, digits and ` +
          `underscores, not starting with a digit (e.g. NPM_TOKEN)`,
      );
    }
    extra.add(name);
  }
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(parent)) {
    if (extra.has(name) || isInheritedName(name, opts.agent)) env[name] = value;
  }
  return Object.assign(env, opts.set ?? {});
}

/**
 * The names of an environment, sorted: what `--dry-run` shows (names only, never values).
 *
 * @example
 * ```ts
 * envNamesReport({ PATH: "/bin", HOME: "/root" }); // ["HOME", "PATH"]
 * ```
 */
export function envNamesReport(env: Record<string, string>): string[] {
  return Object.keys(env).sort();
}
