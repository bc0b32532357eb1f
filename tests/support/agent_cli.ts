/**
 * The pinned real Codex and Gemini CLIs for offline end-to-end tests, installed with npm on first use the
 * way tests/support/claude_cli.ts installs Claude Code: into `<repo>/.cache/<name>` (a temp folder renamed
 * into place, a `createNew` lock serializing installers across test processes).
 *
 * @example
 * ```ts
 * const codex = await ensureCodexCli(); // .cache/codex/node_modules/.bin/codex
 * ```
 */
import { dirname, join } from "node:path";
import { REPO_ROOT } from "./claude_cli.ts";

export const CODEX_VERSION = "0.171.0";
export const GEMINI_VERSION = "0.61.0";

const INSTALL_WAIT_MS = 10 * 60_000;

interface NpmCli {
  /** Folder under .cache/ */
  name: string;
  pkg: string;
  version: string;
  /** The executable, relative to the install prefix. */
  bin: string;
  /** Extra npm install flags. */
  flags?: string[];
}

export const CODEX_CLI: NpmCli = {
  name: "codex",
  pkg: "@openai/codex",
  version: CODEX_VERSION,
  bin: join("node_modules", ".bin", "codex"),
};

export const GEMINI_CLI: NpmCli = {
  name: "gemini-cli",
  pkg: "@google/gemini-cli",
  version: GEMINI_VERSION,
  bin: join("node_modules", ".bin", "gemini"),
  // Optional native modules (pty, keychain) build from source when no prebuilt fits; headless runs need
  // none of them, and their install scripts are what can fail on a clean machine.
  flags: ["--ignore-scripts"],
};

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function binaryIn(cli: NpmCli, prefix: string): string | undefined {
  try {
    const pkg = JSON.parse(Deno.readTextFileSync(join(prefix, "node_modules", cli.pkg, "package.json")));
    if (pkg.version !== cli.version) return undefined;
  } catch {
    return undefined;
  }
  const p = join(prefix, cli.bin);
  return exists(p) ? p : undefined;
}

async function installFresh(cli: NpmCli, dir: string): Promise<void> {
  const parent = dirname(dir);
  await Deno.mkdir(parent, { recursive: true });
  const tmp = await Deno.makeTempDir({ dir: parent, prefix: `${cli.name}.tmp-` });
  try {
    const out = await new Deno.Command("npm", {
      args: [
        "install",
        "--no-save",
        "--no-audit",
        "--no-fund",
        ...(cli.flags ?? []),
        "--prefix",
        tmp,
        `${cli.pkg}@${cli.version}`,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      const dec = new TextDecoder();
      throw new Error(
        `npm install of ${cli.pkg}@${cli.version} failed (exit ${out.code}):\n` + dec.decode(out.stdout) +
          dec.decode(out.stderr),
      );
    }
    if (!binaryIn(cli, tmp)) throw new Error(`npm installed no ${cli.bin} under ${tmp}`);
    await Deno.chmod(tmp, 0o755);
    if (exists(dir) && !binaryIn(cli, dir)) {
      const old = `${dir}.old-${Deno.pid}-${Date.now()}`;
      await Deno.rename(dir, old).catch(() => {});
      await Deno.remove(old, { recursive: true }).catch(() => {});
    }
    try {
      await Deno.rename(tmp, dir);
    } catch (e) {
      if (!binaryIn(cli, dir)) throw e;
    }
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

function tryLock(path: string): boolean {
  try {
    const f = Deno.openSync(path, { write: true, createNew: true });
    f.writeSync(new TextEncoder().encode(`${Deno.pid}\n`));
    f.close();
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) return false;
    throw e;
  }
}

async function install(cli: NpmCli): Promise<string> {
  const dir = join(REPO_ROOT, ".cache", cli.name);
  const lock = join(REPO_ROOT, ".cache", `${cli.name}.lock`);
  await Deno.mkdir(dirname(lock), { recursive: true });
  const deadline = Date.now() + INSTALL_WAIT_MS;
  while (true) {
    const found = binaryIn(cli, dir);
    if (found) return found;
    if (tryLock(lock)) {
      try {
        if (!binaryIn(cli, dir)) await installFresh(cli, dir);
      } finally {
        await Deno.remove(lock).catch(() => {});
      }
      continue;
    }
    if (Date.now() > deadline) {
      await installFresh(cli, dir);
      continue;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

const pending = new Map<string, Promise<string>>();

/** Path of the CLI's executable at its pinned version, installed with npm on first use. */
export function ensureNpmCli(cli: NpmCli): Promise<string> {
  const found = binaryIn(cli, join(REPO_ROOT, ".cache", cli.name));
  if (found) return Promise.resolve(found);
  let p = pending.get(cli.name);
  if (!p) {
    p = install(cli).finally(() => pending.delete(cli.name));
    pending.set(cli.name, p);
  }
  return p;
}

export const ensureCodexCli = (): Promise<string> => ensureNpmCli(CODEX_CLI);
export const ensureGeminiCli = (): Promise<string> => ensureNpmCli(GEMINI_CLI);

if (import.meta.main) {
  // `deno run -A tests/support/agent_cli.ts` installs both (CI may call it up front).
  console.log(await ensureCodexCli());
  console.log(await ensureGeminiCli());
}
