import { dirname, isAbsolute, join, normalize, relative, resolve } from "../paths.ts";
import { which } from "../which.ts";

/** What the OS sandbox around one Claude Code run needs to know. Paths may be symlinks or missing. */
export interface SandboxPlan {
  /** The project folder: the working directory and the one place the specialist may write. */
  projectDir: string;
  /** The project's `.dispatch-logs`: visible but read-only inside, so run records cannot be forged. */
  logsDir: string;
  /** `$HOME` of the child. */
  home: string;
  /** The Claude Code executable the runner starts (absolute). */
  claudeBin: string;
  /** `$CLAUDE_CONFIG_DIR`, or `$HOME/.claude`. */
  claudeStateDir: string;
  /** More paths to keep visible read-only (for example a toolchain installed under /tmp). */
  extraReadOnly?: string[];
  /** Keep the network (the API endpoint) reachable; false adds `--unshare-net`. */
  network: boolean;
  /** The child's `$TMPDIR` when it is not /tmp: it gets a private tmpfs too. */
  tmpDir?: string;
  /**
   * Session folders (`<state>/projects/<folder>`) the run writes: the project's own and the folder of a
   * resumed session that began in another working directory (the agent's `sessionFolders`).
   */
  sessionFolders: string[];
}

/**
 * Subfolders of the Claude Code state folder a run writes and later runs read: the session registry,
 * todos and tasks, plans, checkpoints, `.claude.json` backups, caches, logs. Transcripts (`projects/`)
 * only in the run's own session folder ({@linkcode claudeSessionFolders}): the others belong to other
 * projects. Not the state folder itself, nor `settings.json`, hooks, `plugins/` code, skills, agents or
 * commands: anything there runs or shapes later runs, sandboxed or not.
 */
export const CLAUDE_STATE_SUBDIRS: readonly string[] = [
  "sessions",
  "todos",
  "tasks",
  "plans",
  "file-history",
  "backups",
  "statsig",
  "telemetry",
  "debug",
  "plugins/store", // per-plugin usage data it writes at start; plugin code stays read-only
];

/**
 * Subfolders Claude Code writes but only the same process reads back; both hold shell scripts that its
 * Bash tool sources, so a writable real folder would let a sandboxed run plant code for a later
 * unsandboxed resume. Each run gets a private, empty tmpfs there instead.
 */
export const CLAUDE_SCRATCH_SUBDIRS: readonly string[] = ["shell-snapshots", "session-env"];

/**
 * Paths in the project that Claude Code executes or obeys in later runs, sandboxed or not: its project
 * settings (`.claude/settings.json`, `settings.local.json`: hooks, permissions; commands, agents, skills)
 * and MCP servers (`.mcp.json`). Read-only inside the sandbox, so that a run cannot plant code that a
 * later unsandboxed resume runs. Claude Code writes nothing there itself in a run under bwrap (its own
 * Bash sandbox, which writes `.claude/.cc-writes/`, does not nest inside ours).
 */
export const PROJECT_CONTROL_PATHS: readonly { name: string; kind: "dir" | "file"; content?: string }[] = [
  { name: ".claude", kind: "dir" },
  // Must exist to be bound; Claude Code 2.1.328 reads this as "no MCP servers" (as it does an empty file).
  { name: ".mcp.json", kind: "file", content: '{ "mcpServers": {} }\n' },
];

/** The run's writable session folders under `<state>/projects/` (the agent names them). */
export function claudeSessionFolders(plan: SandboxPlan): string[] {
  return [...new Set(plan.sessionFolders)];
}

/** How to install bubblewrap, per distribution; shown when the OS sandbox is asked for and missing. */
export const BWRAP_INSTALL_HINT = [
  "bubblewrap (bwrap) is needed for the OS sandbox; install it with one of:",
  "  Debian/Ubuntu: sudo apt-get install bubblewrap",
  "  Fedora/RHEL:   sudo dnf install bubblewrap",
  "  Arch:          sudo pacman -S bubblewrap",
  "  openSUSE:      sudo zypper install bubblewrap",
  "  Alpine:        sudo apk add bubblewrap",
  "It needs unprivileged user namespaces when not run as root (kernel.unprivileged_userns_clone=1).",
].join("\n");

/**
 * Where Claude Code keeps its global config: `$HOME/.claude.json`, or `.claude.json` inside
 * `$CLAUDE_CONFIG_DIR` when that is set (recognised as a state folder other than `$HOME/.claude`).
 */
export function claudeGlobalConfigPath(plan: SandboxPlan): string {
  const defaultState = normalize(join(plan.home, ".claude"));
  const base = normalize(plan.claudeStateDir) === defaultState ? plan.home : plan.claudeStateDir;
  return join(base, ".claude.json");
}

/**
 * Folders that must exist before `bwrap` starts (a bind needs an existing source, and the read-only
 * root cannot get new mount points). Create them with `mkdir -p`, as the runner's user.
 *
 * @example
 * ```ts
 * for (const d of sandboxDirsToCreate(plan)) await Deno.mkdir(d, { recursive: true });
 * ```
 */
export function sandboxDirsToCreate(plan: SandboxPlan): string[] {
  const dirs = [plan.projectDir, plan.logsDir];
  for (const p of PROJECT_CONTROL_PATHS) if (p.kind === "dir") dirs.push(join(plan.projectDir, p.name));
  for (const sub of [...CLAUDE_STATE_SUBDIRS, ...CLAUDE_SCRATCH_SUBDIRS]) {
    dirs.push(join(plan.claudeStateDir, sub));
  }
  dirs.push(...claudeSessionFolders(plan));
  // A $TMPDIR under a read-only bind (a HOME under /tmp in tests) needs its mount point on the host.
  if (plan.tmpDir !== undefined && resolve(plan.tmpDir) !== "/tmp") dirs.push(plan.tmpDir);
  return dirs;
}

/**
 * Files that must exist before `bwrap` starts. `.claude.json` cannot be created inside (read-only
 * `$HOME`): a missing one gives a warning on every run, an empty one is fatal to Claude Code ("JSON Parse
 * error"), so it is written when missing or empty. The project's `.mcp.json` is bound read-only, which
 * needs a file: written only when missing (an empty one is left alone: Claude Code accepts it).
 */
export function sandboxFilesToCreate(
  plan: SandboxPlan,
): { path: string; content: string; when: "missing" | "missing-or-empty" }[] {
  const files: { path: string; content: string; when: "missing" | "missing-or-empty" }[] = [
    { path: claudeGlobalConfigPath(plan), content: "{}\n", when: "missing-or-empty" },
  ];
  for (const p of PROJECT_CONTROL_PATHS) {
    if (p.kind === "file") {
      files.push({ path: join(plan.projectDir, p.name), content: p.content ?? "", when: "missing" });
    }
  }
  return files;
}

/**
 * Creates what {@linkcode sandboxDirsToCreate} and {@linkcode sandboxFilesToCreate} list.
 *
 * @example
 * ```ts
 * await prepareSandbox(plan);
 * const cmd = new Deno.Command(bwrap, { args: [...bwrapArgs(plan), plan.claudeBin, "-p"], detached: true });
 * ```
 */
export async function prepareSandbox(plan: SandboxPlan): Promise<void> {
  for (const dir of sandboxDirsToCreate(plan)) await Deno.mkdir(dir, { recursive: true });
  for (const file of sandboxFilesToCreate(plan)) {
    if (file.when === "missing") {
      // createNew: never replaces what is there (nor follows a dangling symlink planted in its place).
      await Deno.writeTextFile(file.path, file.content, { createNew: true }).catch((err) => {
        if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
      });
      continue;
    }
    const size = await Deno.stat(file.path).then((s) => s.size, () => 0);
    if (size === 0) await Deno.writeTextFile(file.path, file.content);
  }
}

type MountKind = "tmpfs" | "dir" | "bind" | "ro-bind" | "ro-bind-try";
interface Mount {
  kind: MountKind;
  src?: string;
  dest: string;
}

/**
 * The `bwrap` arguments that go before the Claude Code command (the list ends with `--`).
 *
 * The file system is the host's, read-only, with a private /dev, /proc and /tmp; writable are only the
 * project (less `.dispatch-logs` and {@linkcode PROJECT_CONTROL_PATHS}), the Claude Code state listed in
 * {@linkcode CLAUDE_STATE_SUBDIRS} and the run's session folders ({@linkcode claudeSessionFolders}).
 * Mounts apply in order, so they are sorted parents first: anything under /tmp (a project, a CLI
 * installed there) comes after the private /tmp, `.dispatch-logs` (read-only) after the project.
 * Paths are resolved with realpath; missing optional paths are skipped (`--ro-bind-try`).
 *
 * Start it with `detached: true` (own session, no controlling terminal) and signal its process group:
 * bwrap does not forward signals, a TERM to bwrap alone kills the run without Claude Code's clean stop.
 *
 * @example
 * ```ts
 * const args = [...bwrapArgs(plan), plan.claudeBin, "-p", "--output-format", "stream-json", "--verbose"];
 * ```
 */
export function bwrapArgs(plan: SandboxPlan): string[] {
  const project = realPath(plan.projectDir);
  const home = realPath(plan.home);
  const state = realPath(plan.claudeStateDir);
  const tmp = plan.tmpDir === undefined ? "/tmp" : realPath(plan.tmpDir);

  const mounts: Mount[] = [{ kind: "tmpfs", dest: "/tmp" }];
  // Any other $TMPDIR gets its own tmpfs (mounted after what covers it, as mounts are sorted): a mere
  // folder would be read-only when it lies under a read-only bind, such as a $HOME under /tmp.
  if (tmp !== "/tmp") mounts.push({ kind: "tmpfs", dest: tmp });
  const privateMounts = mounts.map((m) => m.dest);
  const hidden = (p: string) => privateMounts.some((t) => isUnder(p, t));

  // A $HOME or state folder under /tmp (tests, CI) would vanish behind the private /tmp: show it again,
  // read-only. A state folder inside the project would be writable: protect it the same way.
  if (hidden(home)) mounts.push({ kind: "ro-bind-try", src: home, dest: home });
  mounts.push({ kind: "bind", src: project, dest: project });
  if (hidden(state) || isUnder(state, project)) mounts.push({ kind: "ro-bind-try", src: state, dest: state });

  for (const sub of CLAUDE_STATE_SUBDIRS) {
    mounts.push({ kind: "bind", src: join(state, sub), dest: join(state, sub) });
  }
  // Only this run's transcripts: a writable `projects/` would let it rewrite other projects' sessions.
  for (const folder of claudeSessionFolders(plan)) {
    const real = realPath(folder);
    mounts.push({ kind: "bind", src: real, dest: real });
  }
  for (const sub of CLAUDE_SCRATCH_SUBDIRS) mounts.push({ kind: "tmpfs", dest: join(state, sub) });
  // `.claude.json` stays read-only. Claude Code saves it through a lock folder and a temp file beside it
  // (`$HOME/.claude.json.lock`, `.claude.json.tmp.*`), which a read-only $HOME refuses even when the file
  // itself is bound writable; it then logs "continuing without persisting" and the run goes on. A writable
  // file would only let the run plant `mcpServers` commands that later runs start unsandboxed. Same for
  // `.credentials.json` (an OAuth refresh is used for this run and not saved).

  const logs = realPath(plan.logsDir);
  mounts.push({ kind: "ro-bind", src: logs, dest: logs });
  // Project settings, hooks and MCP servers: read-only, bound at their path in the project (realpath as
  // source: a symlink there protects its target).
  for (const p of PROJECT_CONTROL_PATHS) {
    mounts.push({ kind: "ro-bind", src: realPath(join(project, p.name)), dest: join(project, p.name) });
  }

  // The CLI must stay visible and unchanged: bind its real file back when a private or writable mount
  // covers it, at its real path and at the path the runner will exec (a node_modules/.bin symlink).
  const writable = mounts.filter((m) => m.kind === "bind").map((m) => m.dest);
  const covered = (p: string) => hidden(p) || writable.some((w) => isUnder(p, w));
  const bin = realPath(plan.claudeBin);
  const binAsGiven = resolve(plan.claudeBin);
  if (covered(bin)) mounts.push({ kind: "ro-bind", src: bin, dest: bin });
  if (binAsGiven !== bin && covered(binAsGiven)) mounts.push({ kind: "ro-bind", src: bin, dest: binAsGiven });
  for (const p of plan.extraReadOnly ?? []) {
    const real = realPath(p);
    mounts.push({ kind: "ro-bind-try", src: real, dest: real });
  }

  const args = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"];
  for (const m of sortParentsFirst(mounts)) {
    args.push(`--${m.kind}`, ...(m.src === undefined ? [] : [m.src]), m.dest);
  }
  args.push(
    // As root, bwrap keeps every capability: `mount -o remount,rw /` would undo the read-only root.
    "--cap-drop",
    "ALL",
    // One PID namespace per run: when Claude Code exits or bwrap dies, the kernel ends every process of
    // the run, `setsid` daemons included.
    "--unshare-pid",
    "--die-with-parent",
    // No --new-session: it moves the command out of bwrap's process group, so a TERM/INT to the group
    // (the runner's clean stop) no longer reaches Claude Code. The terminal-injection (TIOCSTI) risk it
    // guards against is closed by starting bwrap detached, without a controlling terminal.
  );
  if (!plan.network) args.push("--unshare-net");
  args.push("--setenv", "IS_SANDBOX", "1", "--chdir", project, "--");
  return args;
}

/**
 * Where `bwrap` is on `PATH`, or null (also on systems other than Linux, where it does not exist).
 *
 * @example
 * ```ts
 * const bwrap = await findBwrap();
 * if (bwrap === null) throw new NotInstalledError(BWRAP_INSTALL_HINT);
 * ```
 */
export async function findBwrap(
  path: string | undefined = Deno.env.get("PATH"),
  os: string = Deno.build.os,
): Promise<string | null> {
  return os === "linux" ? await which("bwrap", path) : null;
}

/** Mounts at deeper paths after those at shallower ones; the order otherwise kept (stable sort). */
function sortParentsFirst(mounts: Mount[]): Mount[] {
  const depth = (p: string) => p.split("/").filter((s) => s !== "").length;
  return mounts.map((m, i) => ({ m, i })).sort((a, b) => depth(a.m.dest) - depth(b.m.dest) || a.i - b.i)
    .map((x) => x.m);
}

/** Whether `path` is `dir` or inside it (both absolute and normalised). */
function isUnder(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === "" || (rel !== ".." && !rel.startsWith("../") && !isAbsolute(rel));
}

/** realpath, also for paths that do not exist yet: the existing part resolved, the rest appended. */
export function realPath(path: string): string {
  const abs = resolve(path);
  try {
    return Deno.realPathSync(abs);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    const parent = dirname(abs);
    return parent === abs ? abs : join(realPath(parent), abs.slice(parent.length + (parent === "/" ? 0 : 1)));
  }
}
