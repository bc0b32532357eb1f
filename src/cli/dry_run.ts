/**
 * `--dry-run` of run, resume and review: the three layers of the sandbox as they would be in effect
 * (dispatch-cc's own Deno permissions, Claude Code's environment, its permission mode and OS sandbox),
 * and the exact launch. Reads files, writes nothing, starts nothing; refusals (ceiling, missing bwrap)
 * are the same errors a real run would give.
 */
import { NotFoundError } from "../errors.ts";
import type { DispatchRequest } from "../runner/dispatch.ts";
import { agentOf, NEW_SESSION, planRun } from "../runner/plan.ts";
import type { LaunchPlan } from "../sandbox/launch.ts";
import { shellQuote } from "../render/shell_quote.ts";
import { projectExists, projectPaths, readSessionId } from "../store/project.ts";
import { type CommandContext, type CommandResult, JSON_VERSION } from "./context.ts";

/** dispatch-cc's own permissions as Deno reports them: "granted", "partial" or "refused". */
export function denoPermissions(): Record<string, string> {
  const names = ["read", "write", "run", "env", "net", "ffi"] as const;
  const out: Record<string, string> = {};
  for (const name of names) {
    const st = Deno.permissions.querySync({ name } as Deno.PermissionDescriptor);
    out[name] = st.state === "granted" ? (st.partial ? "partial" : "granted") : "refused";
  }
  const kinds = ["hostname", "osRelease", "uid", "networkInterfaces", "systemMemoryInfo"] as const;
  const sys = kinds.filter((kind) => Deno.permissions.querySync({ name: "sys", kind }).state === "granted");
  out.sys = sys.length === kinds.length ? "granted" : sys.length ? `only ${sys.join(" ")}` : "refused";
  // The write grant excludes system folders (deno.json): show one, so "partial" is concrete.
  out["write /etc"] = Deno.permissions.querySync({ name: "write", path: "/etc" }).state === "granted"
    ? "granted"
    : "refused";
  return out;
}

/** The JSON document of a dry run (README "JSON output"). */
export interface DryRun {
  version: number;
  dry_run: true;
  command: string;
  slug: string;
  project_dir: string;
  session: { mode: "new" | "resume"; id: string | null };
  layers: {
    deno: Record<string, string>;
    environment: { names: string[]; extra_names: string[] };
    permission: {
      mode: string;
      source: string;
      ceiling: string;
      allow_dangerous: boolean;
      allowed_tools: string[];
      disallowed_tools: string[];
    };
    sandbox: LaunchPlan["sandbox"];
  };
  launch: { program: string; args: string[]; cwd: string };
}

/** Plans the dispatch of `req` without running it. */
export async function dryRunDispatch(
  req: DispatchRequest,
  ctx: CommandContext,
  agentBin: string,
): Promise<CommandResult> {
  const paths = projectPaths(ctx.config.projectsDir, req.slug);
  if (req.command !== "run" && req.command !== "apply" && !(await projectExists(paths))) {
    throw new NotFoundError(
      `no project "${req.slug}" in ${ctx.config.projectsDir} (start one with: dispatch-cc run)`,
    );
  }
  const agent = agentOf(req);
  let session: DryRun["session"] = { mode: "new", id: null };
  if (req.session.mode === "resume") session = { mode: "resume", id: req.session.id };
  if (req.session.mode === "continue") {
    const saved = await readSessionId(paths.lastSessionId);
    if (saved.id && await agent.sessionExists(ctx.config.env, saved.id, paths.dir)) {
      session = { mode: "resume", id: saved.id };
    }
  }
  const plan = await planRun(
    req,
    { config: ctx.config, agentBin },
    paths,
    { mode: session.mode, id: session.id ?? (agent.assignsSessionId ? NEW_SESSION : null) },
    "<run marker>",
  );
  const doc: DryRun = {
    version: JSON_VERSION,
    dry_run: true,
    command: req.command,
    slug: req.slug,
    project_dir: paths.dir,
    session,
    layers: {
      deno: denoPermissions(),
      environment: { names: plan.envNames, extra_names: plan.extraEnvNames },
      permission: {
        mode: plan.permission,
        source: req.permissionSource ?? "the permission",
        ceiling: plan.ceiling,
        allow_dangerous: plan.allowDangerous,
        allowed_tools: req.allowedTools ?? [],
        disallowed_tools: req.disallowedTools ?? [],
      },
      sandbox: plan.sandbox,
    },
    launch: { program: plan.command, args: plan.args, cwd: plan.cwd },
  };
  return { exitCode: 0, json: doc, text: renderDryRun(doc) };
}

/** The human view of a dry run: one block per layer, then the command line. */
export function renderDryRun(d: DryRun): string {
  const l = d.layers;
  const deno = Object.entries(l.deno).map(([k, v]) => `${k} ${v}`).join(", ");
  const perm = l.permission;
  return [
    `DRY RUN: ${d.command} ${d.slug} (nothing was started or written)`,
    `Project: ${d.project_dir}`,
    `Session: ${d.session.mode}${d.session.id ? ` ${d.session.id}` : ""}`,
    `1. dispatch-cc's Deno permissions (set "dispatch"): ${deno}`,
    `2. Claude Code's environment (${l.environment.names.length} names, values not shown): ` +
    l.environment.names.join(" "),
    ...(l.environment.extra_names.length
      ? [`   passed with --env: ${l.environment.extra_names.join(" ")}`]
      : []),
    `3. Permission: ${perm.mode} (from ${perm.source}; ceiling ${perm.ceiling}` +
    `${perm.allow_dangerous ? ", lifted by --allow-dangerous" : ""})`,
    ...(perm.allowed_tools.length ? [`   allowed tools: ${perm.allowed_tools.join(", ")}`] : []),
    ...(perm.disallowed_tools.length ? [`   disallowed tools: ${perm.disallowed_tools.join(", ")}`] : []),
    `   Sandbox: ${l.sandbox.description}`,
    ...(l.sandbox.visible ?? []).map((v) => `     ${v.path}: ${v.access} (${v.what})`),
    `Would run in ${d.launch.cwd}:`,
    `  ${[d.launch.program, ...d.launch.args].map(shellQuote).join(" ")}`,
  ].join("\n");
}
