/**
 * `dispatch-cc doctor`: what a run needs on this machine, checked one item at a time, each with its fix.
 * Everything it looks at comes in through {@linkcode DoctorProbe} (src/doctor/probe.ts is the real one),
 * so the checks themselves are tested without a machine to break.
 *
 * @module
 */
import { GIT_MIN_VERSION } from "../git/exec.ts";
import { parseSeconds } from "../config.ts";
import { join, resolve } from "../paths.ts";
import { parseSandboxSetting } from "../sandbox/choice.ts";
import {
  DEFAULT_CEILING,
  parsePermission,
  type PermissionMode,
  permissionRank,
} from "../sandbox/permission.ts";
import type { VersionInfo } from "../version_info.ts";
import { fileSystemRisk } from "./filesystem.ts";
import { compareVersions, firstVersion, TESTED_VERSIONS } from "./versions.ts";

/** ok: fine; warn: works, but something is off or optional is missing; fail: blocks what it is for. */
export type CheckStatus = "ok" | "warn" | "fail" | "info";

/** One line of the report. */
export interface Check {
  id: string;
  status: CheckStatus;
  /** A default run (`dispatch-cc run` with this environment) needs it; a failed required check is exit 1. */
  required: boolean;
  summary: string;
  /** What to do about it (null when nothing is to be done). */
  fix: string | null;
  /** Facts behind the summary, for `--json`. */
  details: Record<string, unknown>;
}

/** A program's `--version` answer. */
export interface ProgramRun {
  ok: boolean;
  /** stdout and stderr, or the reason it could not start. */
  output: string;
}

/** Everything the checks read from the machine. */
export interface DoctorProbe {
  env: Record<string, string>;
  os: typeof Deno.build.os;
  uid: number | null;
  /** The projects folder as configured, or "" when it cannot be known (no HOME). */
  projectsDir: string;
  /** The folder relative paths in settings resolve against (the user's). */
  userCwd: string;
  which(name: string): Promise<string | null>;
  isExecutable(path: string): Promise<boolean>;
  /** Runs `bin args` briefly (a version question); never throws. */
  runProgram(bin: string, args: string[]): Promise<ProgramRun>;
  /** A file's text, or null when missing or unreadable. */
  readText(path: string): Promise<string | null>;
  exists(path: string): Promise<boolean>;
  /** What is at a path: nothing, a directory, something else, or an error saying why it cannot be seen. */
  kind(path: string): Promise<"missing" | "directory" | "other" | { error: string }>;
  /** Creates a file exclusively twice in `dir` (O_CREAT|O_EXCL), removes it; says what happened. */
  exclusiveCreate(dir: string): Promise<{ writable: boolean; exclusive: boolean; error: string | null }>;
  /** The file system type holding `path` (from /proc/mounts on Linux), or null when unknown. */
  fileSystemType(path: string): Promise<{ type: string; mountPoint: string } | null>;
  /** The entries of a folder with their sizes; null when it cannot be read. */
  listFolder(path: string): Promise<{ name: string; size: number; readable: boolean }[] | null>;
}

const CLAUDE_INSTALL = `npm install -g @anthropic-ai/claude-code@${TESTED_VERSIONS.claude}`;
const CODEX_INSTALL = `npm install -g @openai/codex@${TESTED_VERSIONS.codex}`;
const GEMINI_INSTALL = `npm install -g @google/gemini-cli@${TESTED_VERSIONS.gemini}`;

/** A specialist CLI: how to find it, the version tested, how to install it. */
interface Specialist {
  id: "claude" | "codex" | "gemini";
  name: string;
  binVar: string;
  program: string;
  tested: string;
  install: string;
  /** When it is needed. */
  neededFor: string;
  required: boolean;
}

const SPECIALISTS: Specialist[] = [
  {
    id: "claude",
    name: "Claude Code",
    binVar: "DISPATCH_CC_BIN",
    program: "claude",
    tested: TESTED_VERSIONS.claude,
    install: CLAUDE_INSTALL,
    neededFor: "every run",
    required: true,
  },
  {
    id: "codex",
    name: "Codex CLI",
    binVar: "DISPATCH_CODEX_BIN",
    program: "codex",
    tested: TESTED_VERSIONS.codex,
    install: CODEX_INSTALL,
    neededFor: "runs with --agent codex",
    required: false,
  },
  {
    id: "gemini",
    name: "Gemini CLI",
    binVar: "DISPATCH_GEMINI_BIN",
    program: "gemini",
    tested: TESTED_VERSIONS.gemini,
    install: GEMINI_INSTALL,
    neededFor: "runs with --agent gemini",
    required: false,
  },
];

/** Finds a specialist as the runner does: `$<binVar>` when set, else its program on PATH. */
async function findSpecialist(s: Specialist, p: DoctorProbe): Promise<{ bin: string | null; via: string }> {
  const given = p.env[s.binVar]?.trim();
  if (given) {
    const bin = given.includes("/") ? resolve(p.userCwd, given) : await p.which(given);
    return { bin: bin && await p.isExecutable(bin) ? bin : null, via: `${s.binVar}=${given}` };
  }
  return { bin: await p.which(s.program), via: "PATH" };
}

async function specialistCheck(s: Specialist, p: DoctorProbe): Promise<{ check: Check; bin: string | null }> {
  const { bin, via } = await findSpecialist(s, p);
  const absent = s.required ? "fail" : "info";
  if (!bin) {
    return {
      bin,
      check: {
        id: s.id,
        status: via === "PATH" ? absent : "fail",
        required: s.required,
        summary: via === "PATH"
          ? `${s.name} (${s.program}) not found on PATH (needed for ${s.neededFor})`
          : `${via} is not an executable file`,
        fix: `${s.install}, or set ${s.binVar} to the path of the ${s.program} binary`,
        details: { found: false, via, tested: s.tested },
      },
    };
  }
  const run = await p.runProgram(bin, ["--version"]);
  const version = run.ok ? firstVersion(run.output) : null;
  const details = { found: true, path: bin, via, version, tested: s.tested };
  if (!run.ok || !version) {
    return {
      bin,
      check: {
        id: s.id,
        status: s.required ? "fail" : "warn",
        required: s.required,
        summary: `${bin} did not answer --version: ${oneLine(run.output) || "no output"}`,
        fix: `reinstall it: ${s.install}`,
        details: { ...details, output: oneLine(run.output) },
      },
    };
  }
  const older = compareVersions(version, s.tested) < 0;
  return {
    bin,
    check: {
      id: s.id,
      status: older ? "warn" : "ok",
      required: s.required,
      summary: `${s.name} ${version} at ${bin}` +
        (older
          ? `: older than the version tested (${s.tested})`
          : version === s.tested
          ? " (the version tested)"
          : ` (tested: ${s.tested})`),
      fix: older ? `update it: ${s.install}` : null,
      details,
    },
  };
}

/** What can be seen of a specialist's login without asking its server. */
async function authCheck(s: Specialist, found: boolean, p: DoctorProbe): Promise<Check> {
  const id = `${s.id}_auth`;
  if (!found) {
    return {
      id,
      status: "info",
      required: false,
      summary: `${s.name}: not checked (not installed)`,
      fix: null,
      details: {},
    };
  }
  const seen = await authSources(s.id, p);
  const home = p.env.HOME ?? "";
  const fixes: Record<Specialist["id"], string> = {
    claude:
      "log in once with `claude` (then /login), or set ANTHROPIC_API_KEY, or run `claude setup-token` " +
      "and set CLAUDE_CODE_OAUTH_TOKEN",
    codex: "run `codex login`, or set OPENAI_API_KEY",
    gemini: "set GEMINI_API_KEY, or log in once with `gemini`",
  };
  if (seen.length > 0) {
    return {
      id,
      status: "ok",
      required: false,
      summary: `${s.name} credentials: ${seen.join(", ")} (not verified: that needs the network)`,
      fix: null,
      details: { sources: seen },
    };
  }
  const keychain = s.id === "claude" && p.os === "darwin";
  return {
    id,
    status: keychain ? "info" : "warn",
    required: false,
    summary: keychain
      ? `${s.name} credentials: none in the environment or ${home}/.claude (a login may be in the macOS keychain)`
      : `${s.name} credentials: none found in the environment or its settings`,
    fix: fixes[s.id],
    details: { sources: [] },
  };
}

/** Names of the credentials a specialist would find (variables and files; values are never read out). */
async function authSources(id: Specialist["id"], p: DoctorProbe): Promise<string[]> {
  const e = p.env;
  const home = e.HOME ?? "";
  const set = (names: string[]) => names.filter((n) => e[n]?.trim());
  const out: string[] = [];
  if (id === "claude") {
    out.push(...set(["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN"]));
    if (e.CLAUDE_CODE_USE_BEDROCK?.trim()) out.push("CLAUDE_CODE_USE_BEDROCK (AWS credentials)");
    if (e.CLAUDE_CODE_USE_VERTEX?.trim()) out.push("CLAUDE_CODE_USE_VERTEX (Google Cloud credentials)");
    const state = e.CLAUDE_CONFIG_DIR?.trim() || join(home, ".claude");
    const creds = join(state, ".credentials.json");
    if (home && await p.exists(creds)) out.push(creds);
    const settings = await p.readText(join(state, "settings.json"));
    if (settings && /"apiKeyHelper"\s*:/.test(settings)) {
      out.push(`apiKeyHelper in ${join(state, "settings.json")}`);
    }
  } else if (id === "codex") {
    out.push(...set(["OPENAI_API_KEY", "CODEX_API_KEY"]));
    const auth = join(e.CODEX_HOME?.trim() || join(home, ".codex"), "auth.json");
    if ((e.CODEX_HOME?.trim() || home) && await p.exists(auth)) out.push(auth);
  } else {
    out.push(...set(["GEMINI_API_KEY", "GOOGLE_API_KEY"]));
    if (e.GOOGLE_GENAI_USE_VERTEXAI?.trim()) out.push("GOOGLE_GENAI_USE_VERTEXAI (Google Cloud credentials)");
    if (e.GOOGLE_APPLICATION_CREDENTIALS?.trim()) out.push("GOOGLE_APPLICATION_CREDENTIALS");
    const base = join(e.GEMINI_CLI_HOME?.trim() || home, ".gemini");
    if (e.GEMINI_CLI_HOME?.trim() || home) {
      const oauth = join(base, "oauth_creds.json");
      if (await p.exists(oauth)) out.push(oauth);
      const settings = await p.readText(join(base, "settings.json"));
      const type = settings?.match(/"(?:selectedType|selectedAuthType)"\s*:\s*"([^"]+)"/)?.[1];
      if (type) out.push(`auth type ${type} in ${join(base, "settings.json")}`);
    }
  }
  return out;
}

/** The projects folder: there (or creatable), a folder, writable, exclusive create working, not on NFS. */
async function projectsChecks(p: DoctorProbe): Promise<Check[]> {
  const dir = p.projectsDir;
  const id = "projects_dir";
  const elsewhere = "or set DISPATCH_PROJECTS_DIR to a folder you can write";
  if (!dir) {
    return [{
      id,
      status: "fail",
      required: true,
      summary: "the projects folder is unknown: HOME is not set and DISPATCH_PROJECTS_DIR neither",
      fix: "set DISPATCH_PROJECTS_DIR (or HOME)",
      details: { path: null },
    }];
  }
  const kind = await p.kind(dir);
  if (typeof kind === "object") {
    return [{
      id,
      status: "fail",
      required: true,
      summary: `${dir} cannot be looked at: ${kind.error}`,
      fix: `check the permissions of its parent folders, ${elsewhere}`,
      details: { path: dir, error: kind.error },
    }];
  }
  if (kind === "other") {
    return [{
      id,
      status: "fail",
      required: true,
      summary: `${dir} exists and is not a folder`,
      fix: `move it away, ${elsewhere}`,
      details: { path: dir, exists: true },
    }];
  }
  // A missing folder is created by the first run: check the nearest folder that exists instead.
  let probeDir = dir;
  while (probeDir !== "/" && await p.kind(probeDir) === "missing") {
    // Either separator: a Windows path (C:\Users\me\dispatch-projects) climbs the same way.
    const parent = probeDir.replace(/[\\/][^\\/]*[\\/]?$/, "") || "/";
    if (parent === probeDir) break;
    probeDir = parent;
  }
  const created = await p.exclusiveCreate(probeDir);
  const checks: Check[] = [];
  const where = kind === "missing"
    ? `${dir} does not exist yet (the first run creates it in ${probeDir})`
    : dir;
  if (!created.writable) {
    checks.push({
      id,
      status: "fail",
      required: true,
      summary: `${where}: cannot write there: ${created.error ?? "refused"}`,
      fix: `make ${probeDir} writable (chmod u+w ${probeDir}), ${elsewhere}`,
      details: { path: dir, exists: kind === "directory", probed: probeDir, writable: false },
    });
    return checks;
  }
  checks.push({
    id,
    status: "ok",
    required: true,
    summary: kind === "missing" ? `${where}; writable` : `${dir}: writable`,
    fix: null,
    details: { path: dir, exists: kind === "directory", probed: probeDir, writable: true },
  });
  const fs = p.os === "linux" ? await p.fileSystemType(probeDir) : null;
  const risk = fs ? fileSystemRisk(fs.type) : null;
  if (!created.exclusive) {
    checks.push({
      id: "locks",
      status: "fail",
      required: true,
      summary: `exclusive file creation (O_EXCL) does not work in ${probeDir}: project locks cannot hold`,
      fix: `use a folder on a local disk: ${elsewhere.replace(/^or /, "")}`,
      details: { exclusive: false, filesystem: fs },
    });
  } else if (risk) {
    checks.push({
      id: "locks",
      status: "warn",
      required: false,
      summary: `${probeDir} is on ${fs!.type} (${fs!.mountPoint}): ${risk}`,
      fix: `keep projects on a local disk: set DISPATCH_PROJECTS_DIR to a local folder`,
      details: { exclusive: true, filesystem: fs },
    });
  } else {
    checks.push({
      id: "locks",
      status: "ok",
      required: true,
      summary: `exclusive create (O_EXCL) works${
        fs ? ` on ${fs.type} (${fs.mountPoint})` : ""
      }: project locks hold`,
      fix: null,
      details: { exclusive: true, filesystem: fs },
    });
  }
  return checks;
}

/** The settings in force; a malformed one fails every command (exit 2), so it fails here too. */
function settingsCheck(p: DoctorProbe): Check {
  const e = p.env;
  const problems: string[] = [];
  const value = <T>(name: string, parse: (v: string) => T, fallback: T): T => {
    const raw = e[name];
    if (raw === undefined || raw.trim() === "") return fallback;
    try {
      return parse(raw);
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
      return fallback;
    }
  };
  const permission = value<PermissionMode>(
    "DISPATCH_PERMISSION",
    (v) => parsePermission(v, "DISPATCH_PERMISSION"),
    "acceptEdits",
  );
  const ceiling = value<PermissionMode>(
    "DISPATCH_MAX_PERMISSION",
    (v) => parsePermission(v, "DISPATCH_MAX_PERMISSION"),
    DEFAULT_CEILING,
  );
  const sandbox = value(
    "DISPATCH_SANDBOX",
    (v) => parseSandboxSetting(v, "DISPATCH_SANDBOX"),
    parseSandboxSetting("", ""),
  );
  const timeout = value("DISPATCH_TIMEOUT", (v) => parseSeconds(v, "DISPATCH_TIMEOUT"), 600);
  const details = {
    permission,
    ceiling,
    sandbox: sandbox.kind,
    sandbox_network: sandbox.network,
    timeout_s: timeout,
  };
  const inForce =
    `permission ${permission}, ceiling ${ceiling} (DISPATCH_MAX_PERMISSION), sandbox ${sandbox.kind}` +
    `${sandbox.kind === "bwrap" && !sandbox.network ? " without network" : ""}, timeout ${timeout} s`;
  if (problems.length) {
    return {
      id: "settings",
      status: "fail",
      required: true,
      summary: problems.join("; "),
      fix: "correct or unset the variable named (every command refuses to start until then)",
      details: { ...details, problems },
    };
  }
  const notes: string[] = [];
  if (ceiling === "bypassPermissions") notes.push("the ceiling lets a task file ask for bypassPermissions");
  if (permission === "bypassPermissions" && p.uid === 0 && sandbox.kind !== "bwrap") {
    notes.push("bypassPermissions as root needs --sandbox: default runs will be refused");
  }
  if (permissionRank(permission) > permissionRank(ceiling)) {
    notes.push("DISPATCH_PERMISSION is above the ceiling: runs need --allow-dangerous");
  }
  return {
    id: "settings",
    status: notes.length ? "warn" : "ok",
    required: true,
    summary: inForce + (notes.length ? `; ${notes.join("; ")}` : ""),
    fix: notes.length
      ? "lower DISPATCH_PERMISSION / DISPATCH_MAX_PERMISSION, or set DISPATCH_SANDBOX=1"
      : null,
    details,
  };
}

/** bubblewrap, socat, and whether user namespaces work here (the OS sandbox needs them). */
async function sandboxChecks(p: DoctorProbe): Promise<Check[]> {
  let wanted = "none";
  try {
    wanted = parseSandboxSetting(p.env.DISPATCH_SANDBOX, "DISPATCH_SANDBOX").kind;
  } catch { /* reported by the settings check */ }
  const needBwrap = wanted !== "none";
  if (p.os !== "linux") {
    return [{
      id: "sandbox",
      status: needBwrap ? "fail" : "info",
      required: needBwrap,
      summary: `the OS sandbox (--sandbox) is Linux-only; not available on ${p.os}`,
      fix: needBwrap ? "unset DISPATCH_SANDBOX" : null,
      details: { os: p.os },
    }];
  }
  const bwrap = await p.which("bwrap");
  const socat = await p.which("socat");
  const checks: Check[] = [];
  const bwrapFix = "install bubblewrap: sudo apt-get install bubblewrap (Debian/Ubuntu), sudo dnf install " +
    "bubblewrap (Fedora), sudo pacman -S bubblewrap (Arch)";
  if (!bwrap) {
    checks.push({
      id: "sandbox",
      status: needBwrap ? "fail" : "warn",
      required: needBwrap,
      summary: "bubblewrap (bwrap) not found: --sandbox and --claude-sandbox cannot run",
      fix: bwrapFix,
      details: { bwrap: null },
    });
  } else {
    const version = await p.runProgram(bwrap, ["--version"]);
    // The shape of a real sandboxed run (src/sandbox/bwrap.ts): read-only root, new PID and network
    // namespaces, capabilities dropped.
    const probe = await p.runProgram(bwrap, [
      "--ro-bind",
      "/",
      "/",
      "--dev",
      "/dev",
      "--proc",
      "/proc",
      "--tmpfs",
      "/tmp",
      "--cap-drop",
      "ALL",
      "--unshare-pid",
      "--unshare-net",
      "--die-with-parent",
      "true",
    ]);
    const v = firstVersion(version.output);
    checks.push(
      probe.ok
        ? {
          id: "sandbox",
          status: "ok",
          required: needBwrap,
          summary: `bubblewrap ${v ?? "(version unknown)"} at ${bwrap}; user namespaces work here`,
          fix: null,
          details: { bwrap, version: v, namespaces: true },
        }
        : {
          id: "sandbox",
          status: needBwrap ? "fail" : "warn",
          required: needBwrap,
          summary: `bubblewrap at ${bwrap} cannot create its namespaces here: ${oneLine(probe.output)}`,
          fix: "allow unprivileged user namespaces (sudo sysctl kernel.unprivileged_userns_clone=1; on " +
            "Ubuntu 24.04+ also kernel.apparmor_restrict_unprivileged_userns=0), or run where they are " +
            "allowed (containers often forbid them)",
          details: { bwrap, version: v, namespaces: false, output: oneLine(probe.output) },
        },
    );
  }
  const needSocat = wanted === "claude";
  checks.push(
    socat
      ? {
        id: "socat",
        status: "ok",
        required: needSocat,
        summary: `socat at ${socat} (for --claude-sandbox)`,
        fix: null,
        details: { socat },
      }
      : {
        id: "socat",
        status: needSocat ? "fail" : "info",
        required: needSocat,
        summary: "socat not found (needed only for --claude-sandbox, Claude Code's own Bash sandbox)",
        fix: "sudo apt-get install socat (Debian/Ubuntu), sudo dnf install socat (Fedora)",
        details: { socat: null },
      },
  );
  return checks;
}

/** The cache folder that list, search and status keep: present, readable, its size. Never required. */
async function indexCheck(p: DoctorProbe): Promise<Check> {
  if (!p.projectsDir) {
    return {
      id: "index",
      status: "info",
      required: false,
      summary: "index: not checked",
      fix: null,
      details: {},
    };
  }
  const dir = join(p.projectsDir, ".dispatch-index");
  const parent = await p.kind(p.projectsDir);
  if (parent !== "directory") {
    return {
      id: "index",
      status: "info",
      required: false,
      summary: `index: not checked (no projects folder${parent === "missing" ? " yet" : ""})`,
      fix: null,
      details: { path: dir, present: false },
    };
  }
  const kind = await p.kind(dir);
  if (kind === "missing") {
    return {
      id: "index",
      status: "info",
      required: false,
      summary: `no index yet at ${dir} (list, search and status build it as they go)`,
      fix: null,
      details: { path: dir, present: false },
    };
  }
  const entries = kind === "directory" ? await p.listFolder(dir) : null;
  if (entries === null) {
    return {
      id: "index",
      status: "warn",
      required: false,
      summary: `${dir} cannot be read: list, search and status run uncached (slower)`,
      fix: `remove it (rm -rf ${dir}); it is rebuilt from the projects`,
      details: { path: dir, present: true, readable: false },
    };
  }
  const unreadable = entries.filter((e) => !e.readable).map((e) => e.name);
  const bytes = entries.reduce((n, e) => n + e.size, 0);
  return {
    id: "index",
    status: unreadable.length ? "warn" : "ok",
    required: false,
    summary: `index at ${dir}: ${entries.length} entries, ${bytes} bytes` +
      (unreadable.length ? `; cannot read ${unreadable.join(", ")}` : ""),
    fix: unreadable.length
      ? `remove it (rm -rf ${dir}); it is always safe, the next command rebuilds it`
      : null,
    details: {
      path: dir,
      present: true,
      readable: unreadable.length === 0,
      entries: entries.length,
      bytes,
      unreadable,
    },
  };
}

/** git, which projects in an existing repository (`--repo`) need. */
async function gitCheck(p: DoctorProbe): Promise<Check> {
  const git = await p.which("git");
  if (!git) {
    return {
      id: "git",
      status: "info",
      required: false,
      summary: "git not found (needed only for projects in an existing repository, --repo)",
      fix: "sudo apt-get install git (Debian/Ubuntu), brew install git (macOS)",
      details: { git: null },
    };
  }
  const run = await p.runProgram(git, ["--version"]);
  const version = firstVersion(run.output);
  // `merge` needs `git merge-tree --write-tree` (src/git/merge.ts).
  const [major, minor] = (version ?? "").split(".").map(Number);
  const [needMajor, needMinor] = GIT_MIN_VERSION.split(".").map(Number);
  const old = version !== null && (major < needMajor || major === needMajor && minor < needMinor);
  return {
    id: "git",
    status: old ? "warn" : "ok",
    required: false,
    summary: `git ${version ?? "(version unknown)"} at ${git}` +
      (old ? `: older than ${GIT_MIN_VERSION}, which dispatch-cc merge needs` : ""),
    fix: old ? "update git (dispatch-cc merge needs git merge-tree --write-tree)" : null,
    details: { git, version },
  };
}

/** The whole report, in the order it prints. */
export interface DoctorReport {
  ok: boolean;
  dispatch_cc: VersionInfo;
  checks: Check[];
}

/**
 * Runs every check. `ok` is false when a required one failed.
 *
 * @example
 * ```ts
 * const report = await runChecks(await realProbe(config), await versionInfo());
 * if (!report.ok) Deno.exit(1);
 * ```
 */
export async function runChecks(p: DoctorProbe, version: VersionInfo): Promise<DoctorReport> {
  const specialists = await Promise.all(SPECIALISTS.map((s) => specialistCheck(s, p)));
  const auths = await Promise.all(SPECIALISTS.map((s, i) => authCheck(s, specialists[i].bin !== null, p)));
  const checks: Check[] = [
    {
      id: "dispatch_cc",
      status: "info",
      required: false,
      summary:
        `dispatch-cc ${version.dispatch_cc}, commit ${version.commit ?? "unknown"}, ${version.build}, ` +
        `Deno ${version.deno}, ${version.target}`,
      fix: null,
      details: { ...version },
    },
    ...SPECIALISTS.flatMap((_, i) => [specialists[i].check, auths[i]]),
    ...await projectsChecks(p),
    settingsCheck(p),
    ...await sandboxChecks(p),
    await indexCheck(p),
    await gitCheck(p),
  ];
  return { ok: !checks.some((c) => c.required && c.status === "fail"), dispatch_cc: version, checks };
}

function oneLine(text: string): string {
  return text.trim().split("\n").map((l) => l.trim()).filter(Boolean).slice(0, 2).join(" / ").slice(0, 300);
}
