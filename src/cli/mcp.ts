import type { Command } from "./context.ts";
import { COMMON_OPTIONS } from "./dispatch_options.ts";
import { parseOptions } from "./options.ts";

const options = {
  help: COMMON_OPTIONS.help,
  "allow-repo": {
    type: "string" as const,
    multiple: true,
    arg: "DIR",
    help:
      "let the tools' repo input name repositories in DIR (repeatable; also DISPATCH_MCP_REPOS=DIR:DIR); " +
      "without it, repo is refused",
  },
};

/** `dispatch-cc mcp`: the MCP server on stdio. The SDK loads only here (start-up of other commands). */
export const mcpCommand: Command = {
  name: "mcp",
  summary: "serve every command as an MCP tool over stdio (for Claude Code, Claude Desktop, other clients)",
  usage: "dispatch-cc mcp [--allow-repo DIR]...",
  options,
  details:
    "Tools: run, resume, review, apply, wait, status, list, search, logs, cancel, history, validate.\n" +
    "Each result is the document the command prints with --json. run, resume, review and apply return\n" +
    "within wait_s seconds (default 50); a run still going on then is picked up with the wait tool.\n" +
    'Register it: claude mcp add dispatch -- dispatch-cc mcp (README "MCP server").',
  async run(argv, ctx) {
    const p = parseOptions("mcp", argv, options);
    const cwd = ctx.config.env.INIT_CWD || Deno.cwd();
    const { repoRoots } = await import("../mcp/repo_roots.ts");
    const dirs = [
      ...((p.values["allow-repo"] as string[] | undefined) ?? []),
      ...(ctx.config.env.DISPATCH_MCP_REPOS ?? "").split(":"),
    ];
    const allowRepos = await repoRoots(dirs, cwd);
    const { serveStdio } = await import("../mcp/server.ts");
    await serveStdio({ allowRepos, cwd });
    return { exitCode: 0, json: null, text: "", printed: true };
  },
};
