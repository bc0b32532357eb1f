/**
 * The pinned real Claude Code CLI for offline end-to-end tests.
 *
 * `ensureClaudeCli()` installs `@anthropic-ai/claude-code@CLAUDE_CODE_VERSION` with npm into
 * `<repo>/.cache/claude-code` on first use and returns the path of the native binary. Installs go to a
 * temporary directory that is renamed into place, and a `createNew` lock file serializes installers,
 * so any number of test files (processes) may call it at once.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const CLAUDE_CODE_VERSION = "2.1.328";

export const REPO_ROOT: string = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CLAUDE_CACHE_DIR: string = join(REPO_ROOT, ".cache", "claude-code");

const NATIVE_REL = join("node_modules", "@anthropic-ai", "claude-code-linux-x64", "claude");
const BIN_REL = join("node_modules", ".bin", "claude");
const LOCK_PATH = join(REPO_ROOT, ".cache", "claude-code.lock");
const INSTALL_WAIT_MS = 5 * 60_000;

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function installedVersion(prefix: string): string | undefined {
  for (
    const pkg of [
      join(prefix, "node_modules", "@anthropic-ai", "claude-code-linux-x64", "package.json"),
      join(prefix, "node_modules", "@anthropic-ai", "claude-code", "package.json"),
    ]
  ) {
    try {
      return JSON.parse(Deno.readTextFileSync(pkg)).version;
    } catch { /* try next */ }
  }
  return undefined;
}

/** Path of the usable binary under a prefix, or undefined. */
function binaryIn(prefix: string): string | undefined {
  if (installedVersion(prefix) !== CLAUDE_CODE_VERSION) return undefined;
  for (const rel of [NATIVE_REL, BIN_REL]) {
    const p = join(prefix, rel);
    if (exists(p)) return p;
  }
  return undefined;
}

async function npmInstall(prefix: string): Promise<void> {
  const out = await new Deno.Command("npm", {
    args: [
      "install",
      "--no-save",
      "--no-audit",
      "--no-fund",
      "--prefix",
      prefix,
      `@anthropic-ai/claude-code@${CLAUDE_CODE_VERSION}`,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const dec = new TextDecoder();
    throw new Error(
      `npm install of @anthropic-ai/claude-code@${CLAUDE_CODE_VERSION} failed (exit ${out.code}):\n` +
        dec.decode(out.stdout) + dec.decode(out.stderr),
    );
  }
}

/** Install into a temp dir next to the cache dir, then rename it into place (atomic). */
async function installFresh(): Promise<void> {
  const parent = dirname(CLAUDE_CACHE_DIR);
  await Deno.mkdir(parent, { recursive: true });
  const tmp = await Deno.makeTempDir({ dir: parent, prefix: "claude-code.tmp-" });
  try {
    await npmInstall(tmp);
    if (!binaryIn(tmp)) throw new Error(`npm installed no claude binary under ${tmp}`);
    await Deno.chmod(tmp, 0o755); // makeTempDir gives 0700; tests may run the CLI as another user
    if (exists(CLAUDE_CACHE_DIR) && !binaryIn(CLAUDE_CACHE_DIR)) {
      // Wrong version or broken: move it aside, then remove it.
      const old = `${CLAUDE_CACHE_DIR}.old-${Deno.pid}-${Date.now()}`;
      await Deno.rename(CLAUDE_CACHE_DIR, old).catch(() => {});
      await Deno.remove(old, { recursive: true }).catch(() => {});
    }
    try {
      await Deno.rename(tmp, CLAUDE_CACHE_DIR);
    } catch (e) {
      // Someone else renamed theirs into place first: theirs is as good as ours.
      if (!binaryIn(CLAUDE_CACHE_DIR)) throw e;
    }
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

function tryLock(): boolean {
  try {
    const f = Deno.openSync(LOCK_PATH, { write: true, createNew: true });
    f.writeSync(new TextEncoder().encode(`${Deno.pid}\n`));
    f.close();
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) return false;
    throw e;
  }
}

async function install(): Promise<string> {
  await Deno.mkdir(dirname(LOCK_PATH), { recursive: true });
  const deadline = Date.now() + INSTALL_WAIT_MS;
  while (true) {
    const found = binaryIn(CLAUDE_CACHE_DIR);
    if (found) return found;
    if (tryLock()) {
      try {
        const again = binaryIn(CLAUDE_CACHE_DIR);
        if (again) return again;
        await installFresh();
      } finally {
        await Deno.remove(LOCK_PATH).catch(() => {});
      }
      continue;
    }
    if (Date.now() > deadline) {
      // The lock holder seems stuck (or died): installing into a temp dir and renaming is safe anyway.
      await installFresh();
      continue;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

let pending: Promise<string> | undefined;

/** Path of the native `claude` binary of CLAUDE_CODE_VERSION, installed with npm on first use. */
export function ensureClaudeCli(): Promise<string> {
  const found = binaryIn(CLAUDE_CACHE_DIR);
  if (found) return Promise.resolve(found);
  pending ??= install().finally(() => {
    pending = undefined;
  });
  return pending;
}

export interface ClaudeEnvOptions {
  /** Mock API base URL (ANTHROPIC_BASE_URL). */
  baseUrl: string;
  /** HOME for this run (see tempHome()). */
  home: string;
  /** Extra variables, merged last. */
  extra?: Record<string, string>;
}

/**
 * A minimal environment for fast, deterministic offline runs of the real CLI. Nothing is inherited
 * from the test process except PATH (so the Bash tool finds programs).
 */
export function claudeEnv(opts: ClaudeEnvOptions): Record<string, string> {
  return {
    HOME: opts.home,
    PATH: Deno.env.get("PATH") ?? "/usr/local/bin:/usr/bin:/bin",
    LANG: "C.UTF-8",
    ANTHROPIC_BASE_URL: opts.baseUrl,
    ANTHROPIC_API_KEY: "test-key",
    // Fail on the first API error instead of ~10 retries over ~3 minutes.
    CLAUDE_CODE_MAX_RETRIES: "0",
    // No update checks, telemetry, error reporting or feature-flag fetches.
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    DISABLE_AUTOUPDATER: "1",
    DISABLE_TELEMETRY: "1",
    DISABLE_ERROR_REPORTING: "1",
    // Keep scratch files (/tmp/claude-<uid>/...) out of the shared /tmp.
    TMPDIR: join(opts.home, "tmp"),
    ...opts.extra,
  };
}

/** A fresh HOME directory (with a `tmp/` inside for TMPDIR). Remove it with Deno.remove(recursive). */
export async function tempHome(): Promise<string> {
  const home = await Deno.makeTempDir({ prefix: "cc-home-" });
  await Deno.mkdir(join(home, "tmp"), { recursive: true });
  await Deno.mkdir(join(home, ".claude"), { recursive: true });
  return home;
}

export interface ClaudeRunOptions {
  /** Path of the claude binary (default: ensureClaudeCli()). */
  bin?: string;
  /** Arguments after the binary, e.g. ["-p", "--output-format", "stream-json", "--verbose"]. */
  args: string[];
  /** Prompt written to stdin, which is then closed. */
  prompt: string;
  cwd: string;
  env: Record<string, string>;
  /** Kill (SIGKILL) after this many ms. Default 60 s. */
  timeoutMs?: number;
}

export interface ClaudeRunResult {
  code: number;
  signal: Deno.Signal | null;
  stdout: string;
  stderr: string;
  /** Every stdout line that parsed as JSON. */
  // deno-lint-ignore no-explicit-any
  events: any[];
  /** The last `type: "result"` event, if any. */
  // deno-lint-ignore no-explicit-any
  result: any | undefined;
  durationMs: number;
}

/** Run a CLI (the real claude or a fake) with the prompt on stdin and collect its output. */
export async function runClaude(opts: ClaudeRunOptions): Promise<ClaudeRunResult> {
  const bin = opts.bin ?? await ensureClaudeCli();
  const started = performance.now();
  const child = new Deno.Command(bin, {
    args: opts.args,
    cwd: opts.cwd,
    env: opts.env,
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, opts.timeoutMs ?? 60_000);
  try {
    const writer = child.stdin.getWriter();
    const output = child.output();
    await writer.write(new TextEncoder().encode(opts.prompt)).catch(() => {});
    await writer.close().catch(() => {});
    const out = await output;
    const dec = new TextDecoder();
    const stdout = dec.decode(out.stdout);
    const events = stdout.split("\n").filter((l) => l.trim() !== "").flatMap((l) => {
      try {
        return [JSON.parse(l)];
      } catch {
        return [];
      }
    });
    return {
      code: out.code,
      signal: out.signal,
      stdout,
      stderr: dec.decode(out.stderr),
      events,
      result: events.findLast((e) => e?.type === "result"),
      durationMs: performance.now() - started,
    };
  } finally {
    clearTimeout(timer);
  }
}
