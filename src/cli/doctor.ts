import type { Command } from "./context.ts";
import { JSON_VERSION } from "./context.ts";
import { COMMON_OPTIONS } from "./dispatch_options.ts";
import { parseOptions } from "./options.ts";
import { checkSettings, type Config, loadConfig } from "../config.ts";
import { EXIT } from "../exit_codes.ts";
import { runChecks } from "../doctor/checks.ts";
import { realProbe } from "../doctor/probe.ts";
import { renderDoctor } from "../render/doctor.ts";
import { versionInfo } from "../version_info.ts";

const options = { ...COMMON_OPTIONS };

/** Settings that may be malformed: doctor reports them instead of refusing to start. */
const SETTINGS = ["DISPATCH_TIMEOUT", "DISPATCH_PERMISSION", "DISPATCH_MAX_PERMISSION", "DISPATCH_SANDBOX"];

/**
 * The configuration with every malformed setting left out (the settings check reports them), and the
 * projects folder "" when it cannot be known (no HOME).
 */
export function doctorConfig(env: Record<string, string>, cwd: string): Config {
  const usable = { ...env };
  for (const name of SETTINGS) {
    try {
      checkSettings(loadConfig({ HOME: "/", [name]: env[name] ?? "" }, cwd));
    } catch {
      delete usable[name];
    }
  }
  // The whole environment stays in `env`: the settings check reads the malformed values from it.
  try {
    return { ...loadConfig(usable, cwd), env };
  } catch {
    return { ...loadConfig({ ...usable, DISPATCH_PROJECTS_DIR: "/" }, cwd), projectsDir: "", env };
  }
}

export const doctorCommand: Command = {
  name: "doctor",
  summary:
    "check what a run needs here (specialist CLIs, login, projects folder, sandbox, settings), with fixes",
  usage: "dispatch-cc doctor [--json]",
  options,
  details: "Exit 0 when everything a default run needs is there (Claude Code found, the projects folder " +
    "writable, the settings valid, the sandbox when DISPATCH_SANDBOX asks for it); 1 otherwise.\n" +
    "Nothing is sent over the network: a login is reported as seen, not verified. Writes nothing but a " +
    "probe file it removes at once.",
  configure: doctorConfig,
  async run(argv, ctx) {
    parseOptions("doctor", argv, options);
    const report = await runChecks(
      realProbe(ctx.config.env, ctx.config.projectsDir, ctx.config.userCwd),
      await versionInfo(),
    );
    // 1 (EXIT.specialistError's number): a run would fail here. README "doctor".
    const exitCode = report.ok ? EXIT.success : EXIT.specialistError;
    return {
      exitCode,
      json: { version: JSON_VERSION, exit_code: exitCode, ...report },
      text: renderDoctor(report),
    };
  },
};
