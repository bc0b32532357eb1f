import { dirname, isAbsolute, join, relative, resolve } from "../paths.ts";
import { which } from "../which.ts";

/**
 * What a specialist CLI needs of its own state inside the sandbox; each agent provides one (Claude Code:
 * src/agents/claude_code/sandbox_state.ts). Every path is absolute.
 */
export interface AgentState {
  /** For messages: "Claude Code". */
  displayName: string;
  /** Folders it writes that later runs of this project read (its sessions): bound writable, created. */
  writable: string[];
  /** Folders it writes that only this run reads: a private, empty tmpfs each. */
  scratch: string[];
  /** Its configuration and credentials: read-only, when present. */
  readOnly: string[];
  /** Files it reads and rewrites while running: a copy in the run's own root, dropped after the run. */
  copies: { path: string; content: () => Promise<string> }[];
  /** Paths (inside) it writes itself in the run's own root besides the copies: not reported. */
  ownWrites: RegExp[];
}

/** What the OS sandbox around one run needs to know. Paths may be symlinks or missing. */
export interface SandboxPlan {
  /** The project folder: the working directory and the one place the specialist may write. */
  projectDir: string;
  /** The project's `.dispatch-logs`: visible but read-only inside, so run records cannot be forged. */
  logsDir: string;
  /** The specialist's executable (absolute). */
  claudeBin: string;
  /** The specialist's own state (sessions, config, credentials). */
  state: AgentState;
  /**
   * The run's own root on the host: the sandbox's `/`. What the run writes outside its binds lands here
   * and is reported after the run ({@linkcode writesOutside}); removed after the run.
   */
  rootDir: string;
  /** Folders on the child's PATH: kept visible, read-only (programs the tools run). */
  pathDirs?: string[];
  /** More paths to keep visible read-only. */
  extraReadOnly?: string[];
  /** More paths to make writable (existing folders; a repository's `.git` parts its worktree's git needs). */
  extraWritable?: string[];
  /** Keep the network; false adds `--unshare-net` (the model API then comes in through `apiSocket`). */
  network: boolean;
  /** The child's `$TMPDIR` when it is not /tmp: it gets a private tmpfs too. */
  tmpDir?: string;
  /** Without network: the host end of the API forwarder, bound at {@linkcode API_SOCKET} inside. */
  apiSocket?: string;
  /** Without network, an HTTPS API: an /etc/hosts mapping its host name to the inside forwarder. */
  hostsFile?: string;
}

/** Where the model API's forwarder socket appears inside a sandbox without network. */
export const API_SOCKET = "/run/dispatch-cc/api.sock";

/** The system's read-only tree: programs, libraries, configuration. Bound read-only when present. */
export const SYSTEM_PATHS: readonly string[] = [
  "/usr",
  "/bin",
  "/sbin",
  "/lib",
  "/lib32",
  "/lib64",
  "/libx32",
  "/etc",
];

/** Secrets in /etc that a root run could read: hidden (an empty file or folder in their place). */
export const ETC_SECRETS: readonly string[] = [
  "/etc/shadow",
  "/etc/shadow-",
  "/etc/gshadow",
  "/etc/gshadow-",
  "/etc/ssh",
  "/etc/ssl/private",
  "/etc/sudoers",
  "/etc/sudoers.d",
];

/**
 * Paths in the project that Claude Code executes or obeys in later runs, sandboxed or not: its project
 * settings (`.claude/settings.json`, `settings.local.json`: hooks, permissions; commands, agents, skills)
 * and MCP servers (`.mcp.json`). Read-only inside the sandbox, so that a run cannot plant code that a
 * later unsandboxed resume runs.
 */
export const PROJECT_CONTROL_PATHS: readonly { name: string; kind: "dir" | "file"; content?: string }[] = [
  { name: ".claude", kind: "dir" },
  // Must exist to be bound; Claude Code 2.1.328 reads this as "no MCP servers" (as it does an empty file).
  { name: ".mcp.json", kind: "file", content: '{ "mcpServers": {} }\n' },
];

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

/** One mount of the sandbox, in the order bwrap applies them (parents first). */
export interface Mount {
  kind:
    | "root"
    | "tmpfs"
    | "tmpfs-ro"
    | "dev"
    | "proc"
    | "bind"
    | "ro-bind"
    | "ro-bind-try"
    | "symlink"
    | "hide";
  /** Source on the host (a symlink's target for `symlink`). */
  src?: string;
  /** Path inside. */
  dest: string;
  /** For people (`--dry-run`, README): what it is. */
  what: string;
}

/** What is visible inside, for `--dry-run`: each path, its access, and what it is. */
export interface Visible {
  path: string;
  access: "read-write" | "read-only" | "private" | "hidden" | "kept for the report";
  what: string;
}

/**
 * Folders that must exist before `bwrap` starts (a bind needs an existing source): the project, its logs
 * and control folders, the agent's writable state, and the run's own root.
 */
export function sandboxDirsToCreate(plan: SandboxPlan): string[] {
  const dirs = [plan.projectDir, plan.logsDir];
  for (const p of PROJECT_CONTROL_PATHS) if (p.kind === "dir") dirs.push(join(plan.projectDir, p.name));
  dirs.push(...plan.state.writable, plan.rootDir);
  return dirs;
}

/**
 * Creates what the sandbox binds, the run's own root with an empty folder for every top-level folder of
 * the host it does not bind (so that a write to `/opt/x` or `/srv/x` lands in the root and is reported,
 * instead of failing unseen), and the agent's copies.
 *
 * @example
 * ```ts
 * await prepareSandbox(plan);
 * const cmd = new Deno.Command(bwrap, { args: [...bwrapArgs(plan), plan.claudeBin, "-p"], detached: true });
 * ```
 */
export async function prepareSandbox(plan: SandboxPlan): Promise<void> {
  for (const dir of sandboxDirsToCreate(plan)) await Deno.mkdir(dir, { recursive: true });
  await Deno.chmod(plan.rootDir, 0o700);
  // A private folder inside a read-only one needs its mount point there already.
  for (const s of plan.state.scratch) {
    if (plan.state.readOnly.some((r) => isUnder(resolve(s), resolve(r)) && lstat(r)?.isDirectory)) {
      await Deno.mkdir(s, { recursive: true });
    }
  }
  for (const p of PROJECT_CONTROL_PATHS) {
    if (p.kind !== "file") continue;
    // createNew: never replaces what is there (nor follows a dangling symlink planted in its place).
    await Deno.writeTextFile(join(plan.projectDir, p.name), p.content ?? "", { createNew: true }).catch(
      (err) => {
        if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
      },
    );
  }
  const mounts = sandboxMounts(plan);
  for (const name of mirroredTopDirs(mounts)) await Deno.mkdir(join(plan.rootDir, name), { recursive: true });
  // The merged-/usr links (/bin -> usr/bin): in the root itself (bwrap --symlink fails on a second start).
  for (const m of mounts.filter((m) => m.kind === "symlink")) {
    await Deno.symlink(m.src!, join(plan.rootDir, m.dest)).catch((err) => {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    });
  }
  for (const copy of plan.state.copies) {
    const inside = join(plan.rootDir, resolve(copy.path));
    await Deno.mkdir(dirname(inside), { recursive: true });
    await Deno.writeTextFile(inside, await copy.content(), { mode: 0o600 });
  }
}

/** Removes the run's own root after the run (it holds only what the run wrote outside its binds). */
export async function removeSandboxRoot(plan: SandboxPlan): Promise<void> {
  await Deno.remove(plan.rootDir, { recursive: true }).catch(() => {});
}

/**
 * The mounts of one run, parents first. The root is the run's own folder ({@linkcode SandboxPlan.rootDir});
 * on it: the system's read-only tree with its secrets hidden, a private /dev, /proc, /tmp and /run, the
 * folders on PATH and the CLI read-only, the project writable (its `.dispatch-logs` and control files
 * read-only), and the agent's state as it asks ({@linkcode AgentState}). Nothing else of the host: not
 * `$HOME`, not other projects, not the host's sockets.
 */
export function sandboxMounts(plan: SandboxPlan): Mount[] {
  const project = realPath(plan.projectDir);
  const mounts: Mount[] = [{ kind: "root", src: plan.rootDir, dest: "/", what: "the run's own root" }];
  for (const p of SYSTEM_PATHS) {
    const info = lstat(p);
    if (info?.isSymlink) mounts.push({ kind: "symlink", src: Deno.readLinkSync(p), dest: p, what: "system" });
    else if (info?.isDirectory) mounts.push({ kind: "ro-bind", src: p, dest: p, what: "system" });
  }
  for (const p of ETC_SECRETS) {
    const info = lstat(p);
    if (info) {
      mounts.push({ kind: info.isDirectory ? "tmpfs-ro" : "hide", dest: p, what: "a secret of the host" });
    }
  }
  mounts.push(
    { kind: "dev", dest: "/dev", what: "devices" },
    { kind: "proc", dest: "/proc", what: "the run's own processes" },
    { kind: "tmpfs", dest: "/tmp", what: "empty" },
    { kind: "tmpfs", dest: "/run", what: "empty: no host sockets" },
  );
  // DNS: a resolv.conf that links into /run (systemd-resolved) needs its target.
  const resolv = lstat("/etc/resolv.conf");
  if (resolv?.isSymlink) {
    const target = realPath("/etc/resolv.conf");
    if (isUnder(target, "/run")) mounts.push({ kind: "ro-bind-try", src: target, dest: target, what: "DNS" });
  }
  const tmp = plan.tmpDir === undefined ? "/tmp" : realPath(plan.tmpDir);
  if (tmp !== "/tmp") mounts.push({ kind: "tmpfs", dest: tmp, what: "$TMPDIR, empty" });

  const system = (p: string) => SYSTEM_PATHS.some((s) => isUnder(p, s));
  const writableRoots = [project, ...plan.state.writable.map(realPath)];
  for (const dir of new Set(plan.pathDirs ?? [])) {
    if (!isAbsolute(dir) || system(dir)) continue;
    let real: string;
    try {
      real = Deno.realPathSync(dir);
    } catch {
      continue; // missing or not ours to read (another user's folder on PATH): nothing to show
    }
    // Never a folder that holds the project, other projects or $HOME: only what is on PATH itself.
    if (real === "/" || system(real) || writableRoots.some((w) => isUnder(w, real) || isUnder(real, w))) {
      continue;
    }
    if (!lstat(real)?.isDirectory) continue;
    if (mounts.some((m) => m.dest === real)) continue;
    mounts.push({ kind: "ro-bind-try", src: real, dest: real, what: "on PATH" });
  }

  mounts.push({ kind: "bind", src: project, dest: project, what: "the project" });
  const logs = realPath(plan.logsDir);
  mounts.push({ kind: "ro-bind", src: logs, dest: logs, what: "run records" });
  // Project settings, hooks and MCP servers: read-only, at their path in the project (realpath as source:
  // a symlink there protects its target).
  for (const p of PROJECT_CONTROL_PATHS) {
    mounts.push({
      kind: "ro-bind",
      src: realPath(join(project, p.name)),
      dest: join(project, p.name),
      what: "project settings, hooks, MCP servers",
    });
  }

  const state = plan.state;
  // At the paths the CLI uses ($HOME as given), from their real sources.
  for (const p of state.readOnly) {
    const real = realPath(p);
    if (lstat(real)) {
      mounts.push({ kind: "ro-bind-try", src: real, dest: resolve(p), what: `${state.displayName} config` });
    }
  }
  for (const p of state.scratch) {
    mounts.push({ kind: "tmpfs", dest: resolve(p), what: `${state.displayName} scratch, empty` });
  }
  for (const p of state.writable) {
    mounts.push({
      kind: "bind",
      src: realPath(p),
      dest: resolve(p),
      what: `${state.displayName} sessions of this project`,
    });
  }

  // The CLI must stay visible and unchanged: its real file at its real path, and at the path it is
  // started by (a node_modules/.bin symlink). Installed with npm, its whole node_modules folder (a
  // script that starts a native binary from another package: Codex).
  const bin = realPath(plan.claudeBin);
  const binAsGiven = resolve(plan.claudeBin);
  const modules = npmRoot(bin);
  if (modules) mounts.push({ kind: "ro-bind", src: modules, dest: modules, what: state.displayName });
  else mounts.push({ kind: "ro-bind", src: bin, dest: bin, what: state.displayName });
  const givenModules = npmRoot(binAsGiven);
  if (modules && givenModules && givenModules !== modules) {
    // Started through a linked folder (a .cache link): node resolves its packages from the path given.
    mounts.push({ kind: "ro-bind", src: modules, dest: givenModules, what: state.displayName });
  } else if (binAsGiven !== bin && !(modules && isUnder(binAsGiven, modules))) {
    mounts.push({ kind: "ro-bind", src: bin, dest: binAsGiven, what: state.displayName });
  }
  for (const p of plan.extraReadOnly ?? []) {
    const real = realPath(p);
    mounts.push({ kind: "ro-bind-try", src: real, dest: real, what: "needed by the run" });
  }
  for (const p of plan.extraWritable ?? []) {
    const real = realPath(p);
    mounts.push({
      kind: "bind",
      src: real,
      dest: real,
      what: "written by the run (a repository's .git part)",
    });
  }
  if (plan.apiSocket !== undefined) {
    mounts.push({ kind: "bind", src: plan.apiSocket, dest: API_SOCKET, what: "the model API's forwarder" });
  }
  if (plan.hostsFile !== undefined) {
    mounts.push({
      kind: "ro-bind",
      src: plan.hostsFile,
      dest: "/etc/hosts",
      what: "the API host, forwarded",
    });
  }
  return sortParentsFirst(mounts);
}

/**
 * The `bwrap` arguments that go before the command (the list ends with `--`): {@linkcode sandboxMounts},
 * then no capabilities, its own PID namespace ended with it, and without network its own network
 * namespace.
 *
 * Start it with `detached: true` (own session, no controlling terminal) and signal its process group:
 * bwrap does not forward signals, a TERM to bwrap alone kills the run without the CLI's clean stop.
 *
 * @example
 * ```ts
 * const args = [...bwrapArgs(plan), plan.claudeBin, "-p", "--output-format", "stream-json", "--verbose"];
 * ```
 */
export function bwrapArgs(plan: SandboxPlan): string[] {
  const args: string[] = [];
  for (const m of sandboxMounts(plan)) {
    if (m.kind === "root") args.push("--bind", m.src!, "/");
    else if (m.kind === "tmpfs-ro") args.push("--tmpfs", m.dest, "--remount-ro", m.dest);
    else if (m.kind === "hide") args.push("--ro-bind", "/dev/null", m.dest);
    else if (m.kind === "symlink") continue; // made in the run's root by prepareSandbox
    else args.push(`--${m.kind}`, ...(m.src === undefined ? [] : [m.src]), m.dest);
  }
  const project = realPath(plan.projectDir);
  args.push(
    // As root, bwrap keeps every capability: `mount -o remount,rw` would undo the read-only binds.
    "--cap-drop",
    "ALL",
    // One PID namespace per run: when the CLI exits or bwrap dies, the kernel ends every process of
    // the run, `setsid` daemons included.
    "--unshare-pid",
    "--die-with-parent",
    // No --new-session: it moves the command out of bwrap's process group, so a TERM/INT to the group
    // (the runner's clean stop) no longer reaches the CLI. The terminal-injection (TIOCSTI) risk it
    // guards against is closed by starting bwrap detached, without a controlling terminal.
  );
  if (!plan.network) args.push("--unshare-net");
  args.push("--setenv", "IS_SANDBOX", "1", "--chdir", project, "--");
  return args;
}

/** What is visible inside, mount by mount (the run's own root and its mirrored folders last). */
export function sandboxVisible(plan: SandboxPlan): Visible[] {
  const out: Visible[] = [];
  for (const m of sandboxMounts(plan)) {
    if (m.kind === "root") continue;
    const access: Visible["access"] = m.kind === "bind"
      ? "read-write"
      : m.kind === "tmpfs" || m.kind === "dev" || m.kind === "proc"
      ? "private"
      : m.kind === "hide" || m.kind === "tmpfs-ro"
      ? "hidden"
      : "read-only";
    out.push({ path: m.dest, access, what: m.what });
  }
  out.push({
    path: "/ (anything else)",
    access: "kept for the report",
    what: "an empty folder of the run's own: writes there reach nothing and are reported (blocked)",
  });
  return out;
}

/** One write that landed in the run's own root: outside everything the run may write. */
export interface OutsideWrite {
  /** The path inside the sandbox (the top-most new file or folder). */
  path: string;
  kind: "file" | "folder" | "link";
}

/**
 * Every write of a finished run outside its binds: what is in the run's own root besides the mount
 * points bwrap made, the mirrored top-level folders and the agent's own files. Exact: the kernel put
 * these files there, whatever the command printed or returned. At most `limit` entries.
 */
export function writesOutside(plan: SandboxPlan, limit = 50): OutsideWrite[] {
  const mounts = sandboxMounts(plan).filter((m) => m.kind !== "root");
  const dests = new Set(mounts.map((m) => m.dest));
  const mirrored = new Set(mirroredTopDirs(mounts).map((n) => "/" + n));
  const copies = new Set(plan.state.copies.map((c) => resolve(c.path)));
  const expectedDir = (p: string) => mirrored.has(p) || mounts.some((m) => isUnder(m.dest, p));
  const out: OutsideWrite[] = [];
  const list = (inside: string) => {
    try {
      return [...Deno.readDirSync(join(plan.rootDir, inside))].sort((a, b) => a.name < b.name ? -1 : 1);
    } catch {
      return [];
    }
  };
  // Everything new, down to its files (an empty new folder counts itself): each names the write that made it.
  const report = (p: string, e: Deno.DirEntry) => {
    const children = e.isDirectory ? list(p) : [];
    if (children.length === 0) {
      out.push({ path: p, kind: e.isDirectory ? "folder" : e.isSymlink ? "link" : "file" });
    }
    for (const c of children) if (out.length < limit) report(join(p, c.name), c);
  };
  const walk = (inside: string) => {
    for (const e of list(inside)) {
      if (out.length >= limit) return;
      const p = join(inside, e.name);
      if (dests.has(p) || copies.has(p) || plan.state.ownWrites.some((re) => re.test(p))) continue;
      if (e.isDirectory && expectedDir(p)) walk(p);
      else report(p, e);
    }
  };
  walk("/");
  return out;
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

/** The outermost `node_modules` folder holding `path`, or null. */
function npmRoot(path: string): string | null {
  const at = path.indexOf("/node_modules/");
  return at < 0 ? null : path.slice(0, at + "/node_modules".length);
}

/** Top-level folders of the host that no mount covers: each gets an empty folder in the run's root. */
function mirroredTopDirs(mounts: Mount[]): string[] {
  const names: string[] = [];
  try {
    for (const e of Deno.readDirSync("/")) {
      const p = "/" + e.name;
      if (e.isDirectory && !mounts.some((m) => m.kind !== "root" && isUnder(p, m.dest) || m.dest === p)) {
        names.push(e.name);
      }
    }
  } catch { /* unreadable root: nothing mirrored */ }
  return names.sort();
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

function lstat(path: string): Deno.FileInfo | null {
  try {
    return Deno.lstatSync(path);
  } catch {
    return null;
  }
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
