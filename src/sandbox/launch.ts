/**
 * How the specialist CLI is started for one run: the program, its arguments, its environment. This is
 * where the layers of the sandbox meet (environment allow-list, permission mode and its ceiling, OS
 * sandbox); the runner only executes the plan, and `--dry-run` only shows it. What is specific to one CLI
 * comes from its agent (`src/agents/`).
 */
import type { Agent } from "../agents/agent.ts";
import { NotInstalledError, UsageError } from "../errors.ts";
import { basename, dirname, join } from "../paths.ts";
import { which } from "../which.ts";
import {
  type AgentState,
  BWRAP_INSTALL_HINT,
  bwrapArgs,
  findBwrap,
  type OutsideWrite,
  prepareSandbox,
  realPath,
  type SandboxPlan,
  sandboxVisible,
  type Visible,
  writesOutside,
} from "./bwrap.ts";
import {
  type ApiForward,
  type HostForwarder,
  hostsFile,
  insideForwarderScript,
  planApiForward,
  startHostForwarder,
} from "./api_forward.ts";
import { checkOwnState, checkProjectFolder } from "./project_folder.ts";
import { describeSandbox, NO_SANDBOX, type SandboxChoice } from "./choice.ts";
import { childEnv, envNamesReport } from "./env.ts";
import { checkCeiling, checkRootBypass, type PermissionMode } from "./permission.ts";

export interface LaunchInput {
  agent: Agent;
  /** The agent's binary (absolute). */
  claudeBin: string;
  /** The agent's arguments (`agent.command(...)`), with its own sandbox's when asked for. */
  claudeArgs: string[];
  /** The session the run resumes (its folder may lie elsewhere and must stay writable), or null. */
  resumeId?: string | null;
  projectDir: string;
  logsDir: string;
  /** dispatch-cc's own environment. */
  parentEnv: Record<string, string>;
  /** Extra variable names the task passes through. */
  envNames?: string[];
  /** Variables dispatch-cc sets for the child (the run marker). */
  set: Record<string, string>;
  /** The permission mode asked for, checked against the ceiling. */
  permission: PermissionMode;
  /** Where the mode came from, for the ceiling's message ("--permission", "task.yaml:3:13 permission"). */
  permissionSource?: string;
  /** The ceiling (DISPATCH_MAX_PERMISSION). */
  ceiling: PermissionMode;
  /** `--allow-dangerous` on the command line. */
  allowDangerous?: boolean;
  /** The OS sandbox; none when absent. */
  sandbox?: SandboxChoice;
  /** The uid dispatch-cc runs as (`Deno.uid()`); null where unknown. */
  uid: number | null;
  /** `Deno.build.os`, for tests. */
  os?: string;
  /** Where each sandboxed run gets its own folder (its root, the API socket); default $TMPDIR or /tmp. */
  runBase?: string;
  /** Paths the OS sandbox keeps visible read-only / makes writable besides the project (a repository's `.git`). */
  extraReadOnly?: string[];
  extraWritable?: string[];
}

/** What a run will be: enough to execute it, and to show it (`--dry-run`, apply's plan). */
export interface LaunchPlan {
  /** The program to start: Claude Code, or bwrap in front of it. */
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** The names in `env` (what --dry-run and the record show; never the values). */
  envNames: string[];
  /** The names asked for with --env / `env:`. */
  extraEnvNames: string[];
  permission: PermissionMode;
  ceiling: PermissionMode;
  allowDangerous: boolean;
  /** The sandbox; with bwrap, `visible` lists every path the run sees and how. */
  sandbox: SandboxChoice & { description: string; program: string | null; visible?: Visible[] };
  /** What {@linkcode prepareLaunch} creates before the start (bwrap bind sources); null without bwrap. */
  prepare: SandboxPlan | null;
  /** Without network: the API forwarder {@linkcode prepareLaunch} starts; null otherwise. */
  forward?: { plan: ApiForward; socat: string } | null;
}

const SOCAT_NONET_HINT = "--no-network needs socat to carry the model API into the sandbox: " +
  "sudo apt-get install socat (Debian/Ubuntu), dnf install socat (Fedora), pacman -S socat (Arch)";

const SOCAT_HINT = "Claude Code's Bash sandbox (--claude-sandbox) also needs socat: " +
  "sudo apt-get install socat (Debian/Ubuntu), dnf install socat (Fedora), pacman -S socat (Arch)";

/**
 * Checks a launch before anything is written: a project folder or `.dispatch-logs` that is a symlink, a
 * new project whose agent state folder another project uses, the permission ceiling, bypassPermissions as
 * root, the sandbox's programs. Returns the sandbox program (bwrap), or null when none is needed. Throws
 * UsageError (exit 2) or NotInstalledError (exit 127) with what to do.
 */
export async function checkLaunch(input: LaunchInput): Promise<string | null> {
  const sandbox = input.sandbox ?? NO_SANDBOX;
  const projectsDir = dirname(input.projectDir);
  const slug = basename(input.projectDir);
  checkProjectFolder(projectsDir, slug);
  if (input.agent.stateFolderOf) {
    const exists = await Deno.lstat(input.projectDir).then(() => true, () => false);
    checkOwnState(projectsDir, slug, exists, {
      displayName: input.agent.displayName,
      folderOf: input.agent.stateFolderOf,
    });
  }
  checkCeiling({
    requested: input.permission,
    ceiling: input.ceiling,
    allowDangerous: input.allowDangerous ?? false,
    source: input.permissionSource ?? "the permission",
  });
  if ((input.envNames ?? []).includes("IS_SANDBOX")) {
    throw new UsageError("IS_SANDBOX cannot be passed with --env: the OS sandbox sets it, and only there");
  }
  // Claude Code's own refusal of bypassPermissions as root (Codex and Gemini have none).
  if (input.agent.name === "claude") checkRootBypass(input.permission, sandbox.kind, input.uid);
  if (sandbox.kind === "none") return null;
  if (sandbox.kind === "claude" && !input.agent.hasOwnSandbox) {
    throw new UsageError(`${input.agent.displayName} has no sandbox of its own: use --sandbox instead`);
  }
  const os = input.os ?? Deno.build.os;
  if (os !== "linux") {
    throw new NotInstalledError(
      `the sandbox (--sandbox, --claude-sandbox, DISPATCH_SANDBOX) is not supported on ${
        os === "darwin" ? "macOS" : os
      }: it needs bubblewrap, which is Linux only. Run without it (--no-sandbox), or in a Linux VM or container.`,
    );
  }
  const bwrap = await findBwrap(input.parentEnv.PATH, os);
  if (bwrap === null) throw new NotInstalledError(BWRAP_INSTALL_HINT);
  if (sandbox.kind === "claude" && await which("socat", input.parentEnv.PATH) === null) {
    throw new NotInstalledError(SOCAT_HINT);
  }
  return bwrap;
}

/**
 * The launch of one run. Reads the file system (to find bwrap and resolve paths) but writes nothing:
 * `--dry-run` calls it too.
 *
 * @example
 * ```ts
 * const plan = await planLaunch({ claudeBin, claudeArgs, projectDir, logsDir, parentEnv: Deno.env.toObject(),
 *   set: {}, permission: "acceptEdits", ceiling: "acceptEdits", uid: Deno.uid(), sandbox: { kind: "bwrap", network: true } });
 * await prepareLaunch(plan);
 * new Deno.Command(plan.command, { args: plan.args, cwd: plan.cwd, env: plan.env, clearEnv: true, detached: true });
 * ```
 */
export async function planLaunch(input: LaunchInput): Promise<LaunchPlan> {
  const sandbox = input.sandbox ?? NO_SANDBOX;
  const program = await checkLaunch(input);
  const env = childEnv(input.parentEnv, {
    extraNames: input.envNames,
    set: input.set,
    agent: {
      claude: input.agent.name === "claude",
      names: input.agent.envNames,
      prefixes: input.agent.envPrefixes,
    },
  });
  const common = {
    cwd: input.projectDir,
    env,
    extraEnvNames: [...new Set(input.envNames ?? [])].sort(),
    permission: input.permission,
    ceiling: input.ceiling,
    allowDangerous: input.allowDangerous ?? false,
    sandbox: { ...sandbox, description: describeSandbox(sandbox), program },
  };
  if (sandbox.kind === "claude") {
    // The agent's own sandbox: its arguments already ask for it (AgentInvocation.ownSandbox).
    return {
      ...common,
      command: input.claudeBin,
      args: input.claudeArgs,
      envNames: envNamesReport(env),
      prepare: null,
    };
  }
  if (sandbox.kind === "bwrap") {
    const home = env.HOME ?? "";
    if (!home) {
      throw new UsageError("HOME is not set: the OS sandbox needs it for Claude Code's state folder");
    }
    // The run's own session folder, and that of a resumed session that began in another working
    // directory (a moved project: appended where it began), are writable. Every other stays read-only.
    const sessionFolders = await input.agent.sessionFolders(
      env,
      realPath(input.projectDir),
      input.resumeId ?? null,
    );
    const realProject = realPath(input.projectDir);
    const state: AgentState = input.agent.sandboxState?.(env, realProject, sessionFolders, input.claudeBin) ??
      {
        displayName: input.agent.displayName,
        writable: sessionFolders,
        scratch: [],
        readOnly: [],
        copies: [],
        ownWrites: [],
      };
    const runDir = join(input.runBase ?? tempBase(), `dispatch-cc-sandbox-${crypto.randomUUID()}`);
    if (!sandbox.network && input.agent.name !== "claude") {
      // Its endpoint is not forwarded (Codex reads it from config.toml): it would only retry for minutes.
      throw new UsageError(
        `--no-network keeps only Claude Code's API reachable; ${input.agent.displayName}'s endpoint is not ` +
          `forwarded, so it could not work. Nothing was run. Use --sandbox (with network).`,
      );
    }
    const fwd = sandbox.network ? null : planApiForward(env);
    const socat = fwd ? await which("socat", input.parentEnv.PATH) : null;
    if (fwd && socat === null) throw new NotInstalledError(SOCAT_NONET_HINT);
    const prepare: SandboxPlan = {
      projectDir: input.projectDir,
      logsDir: input.logsDir,
      claudeBin: input.claudeBin,
      state,
      rootDir: join(runDir, "root"),
      pathDirs: (env.PATH ?? "").split(":").filter((d) => d !== ""),
      network: sandbox.network,
      ...(env.TMPDIR && env.TMPDIR !== "/tmp" ? { tmpDir: env.TMPDIR } : {}),
      ...(fwd ? { apiSocket: join(runDir, "api.sock") } : {}),
      extraReadOnly: [...(fwd ? [realPath(socat!)] : []), ...(input.extraReadOnly ?? [])],
      ...(input.extraWritable?.length ? { extraWritable: input.extraWritable } : {}),
      // /etc/hosts maps a named API host to the inside forwarder.
      ...(fwd?.hostsName ? { hostsFile: join(runDir, "hosts") } : {}),
    };
    // Without network the CLI starts behind the inside forwarder, with the API's address rewritten.
    const start = fwd
      ? ["/bin/sh", "-c", insideForwarderScript(realPath(socat!)), "sh", input.claudeBin]
      : [input.claudeBin];
    if (fwd) env.ANTHROPIC_BASE_URL = fwd.insideUrl;
    return {
      ...common,
      command: program!,
      args: [...bwrapArgs(prepare), ...start, ...input.claudeArgs],
      // bwrap sets IS_SANDBOX=1 inside (--setenv): Claude Code then allows bypassPermissions as root.
      envNames: envNamesReport({ ...env, IS_SANDBOX: "1" }),
      sandbox: { ...common.sandbox, visible: sandboxVisible(prepare) },
      prepare,
      forward: fwd ? { plan: fwd, socat: socat! } : null,
    };
  }
  return {
    ...common,
    command: input.claudeBin,
    args: input.claudeArgs,
    envNames: envNamesReport(env),
    prepare: null,
  };
}

/** What a started launch leaves to do after the run. */
export interface PreparedLaunch {
  /** Writes the sandbox kept from the host (its own root), read after the run; [] without one. */
  writesOutside(): OutsideWrite[];
  /** Stops the API forwarder and removes the run's own folder. */
  cleanup(): Promise<void>;
}

/**
 * Creates what the sandbox binds (folders, the run's own root, `.claude.json`'s copy) and starts the API
 * forwarder of a run without network; nothing without bwrap. Call `cleanup()` after the run, always.
 */
export async function prepareLaunch(plan: LaunchPlan): Promise<PreparedLaunch> {
  const sandbox = plan.prepare;
  if (!sandbox) return { writesOutside: () => [], cleanup: () => Promise.resolve() };
  const runDir = dirname(sandbox.rootDir);
  await Deno.mkdir(runDir, { recursive: true, mode: 0o700 });
  let forwarder: HostForwarder | null = null;
  const cleanup = async () => {
    await forwarder?.stop();
    await Deno.remove(runDir, { recursive: true }).catch(() => {});
  };
  try {
    await prepareSandbox(sandbox);
    if (plan.forward) {
      const fwd = plan.forward.plan;
      if (sandbox.hostsFile) {
        const original = await Deno.readTextFile("/etc/hosts").catch(() => "");
        await Deno.writeTextFile(sandbox.hostsFile, hostsFile(original, fwd.hostsName!));
      }
      forwarder = await startHostForwarder(plan.forward.socat, sandbox.apiSocket!, fwd);
    }
  } catch (err) {
    await cleanup();
    throw err;
  }
  return { writesOutside: () => writesOutside(sandbox), cleanup };
}

/** The temp folder of dispatch-cc itself (where each sandboxed run gets its own root). */
function tempBase(): string {
  return Deno.env.get("TMPDIR") || "/tmp";
}
