/**
 * The Gemini CLI (`@google/gemini-cli`, checked with 0.61.0) behind the agent interface.
 *
 * Headless: stdin not a terminal, the prompt on it, `-o stream-json`. dispatch-cc assigns a new session's id
 * (`--session-id`). Users configure Gemini as its docs say, in `$GEMINI_CLI_HOME/.gemini/settings.json`
 * (auth type, model, `general.maxAttempts`), with GEMINI_API_KEY or Google Cloud credentials.
 *
 * Sessions live in `$GEMINI_CLI_HOME/.gemini/tmp/<project>/chats/session-<YYYY-MM-DDTHH-MM>-<id8>.jsonl`, the
 * project's folder name kept in `.gemini/projects.json`; `-r` only finds sessions of the working directory.
 *
 * Quirks: the launcher process swallows SIGTERM unless GEMINI_CLI_NO_RELAUNCH=true (set here); shell
 * children survive SIGTERM (the runner's marker sweep ends them). A resume that starts in a later minute than
 * the session file's name writes a second file for the same session, and a later session list or new session
 * in that folder may delete the history (seen with 0.61.0; README).
 */
import { join } from "../../paths.ts";
import type { Agent, AgentInvocation, RunContext } from "../agent.ts";
import { jsonObject } from "../refusal.ts";
import { npmAgentState } from "../npm_state.ts";
import { buildGeminiArgs, geminiStdin, geminiUnsupported, isGeminiSessionId } from "./args.ts";
import { geminiParser, geminiStatusFromExit } from "./events.ts";

/** Gemini's state folder: `$GEMINI_CLI_HOME/.gemini`, else `~/.gemini`. */
export function geminiStateDir(env: Record<string, string>): string {
  return join(env.GEMINI_CLI_HOME || env.HOME || "", ".gemini");
}

/** The chats folder of a project (working directory), from Gemini's projects.json; null if unknown. */
export async function geminiChatsDir(
  env: Record<string, string>,
  projectDir: string,
): Promise<string | null> {
  const state = geminiStateDir(env);
  try {
    const map = JSON.parse(await Deno.readTextFile(join(state, "projects.json")))?.projects;
    // Gemini keys it by its working directory as the OS reports it (symbolic links resolved).
    const real = await Deno.realPath(projectDir).catch(() => projectDir);
    const name = map && typeof map === "object" ? map[projectDir] ?? map[real] : undefined;
    if (typeof name !== "string" || name === "" || name.includes("/") || name.startsWith(".")) return null;
    return join(state, "tmp", name, "chats");
  } catch {
    return null;
  }
}

/** Does Gemini hold session `id` for this project (a chats file whose first line names it)? */
export async function geminiSessionExists(
  env: Record<string, string>,
  id: string,
  projectDir: string,
): Promise<boolean> {
  if (!isGeminiSessionId(id)) return false;
  const chats = await geminiChatsDir(env, projectDir);
  if (!chats) return false;
  const suffix = `-${id.slice(0, 8).toLowerCase()}.jsonl`;
  try {
    for await (const f of Deno.readDir(chats)) {
      if (!f.isFile || !f.name.startsWith("session-") || !f.name.toLowerCase().endsWith(suffix)) continue;
      const file = await Deno.open(join(chats, f.name));
      try {
        const buf = new Uint8Array(4096);
        const n = await file.read(buf) ?? 0;
        const first = new TextDecoder().decode(buf.subarray(0, n)).split("\n")[0];
        if (jsonObject(first)?.sessionId === id) return true;
      } finally {
        file.close();
      }
    }
  } catch { /* no chats yet */ }
  return false;
}

export const geminiAgent: Agent = {
  name: "gemini",
  displayName: "Gemini CLI",
  binName: "gemini",
  binEnv: "DISPATCH_GEMINI_BIN",
  installHint: "install it with: npm install -g @google/gemini-cli " +
    "(or set DISPATCH_GEMINI_BIN to the gemini binary)",
  envNames: [
    "GEMINI_CLI_HOME",
    "GEMINI_API_KEY",
    "GOOGLE_GEMINI_BASE_URL",
    // Google Cloud (Vertex AI) instead of an API key.
    "GOOGLE_API_KEY",
    "GOOGLE_GENAI_USE_VERTEXAI",
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_LOCATION",
    "GOOGLE_APPLICATION_CREDENTIALS",
  ],
  envPrefixes: [],
  assignsSessionId: true,
  supportsOutputSchema: false,
  hasOwnSandbox: false,
  stateDir: geminiStateDir,
  sandboxState: (_env, _project, folders, bin) => npmAgentState("Gemini CLI", folders, bin),
  // Gemini writes projects.json and the project's tmp/ and history/ folders under its state folder.
  sessionFolders: (env: Record<string, string>) => Promise.resolve([geminiStateDir(env)]),
  command(inv: AgentInvocation, prompt: string) {
    return {
      args: buildGeminiArgs(inv),
      stdin: geminiStdin(inv, prompt),
      // Without it the launcher re-executes Gemini in a child and ignores SIGTERM itself.
      env: { GEMINI_CLI_NO_RELAUNCH: "true" },
    };
  },
  parser: (ctx?: RunContext) => geminiParser(ctx),
  unsupported: geminiUnsupported,
  apiStatusFromExit: geminiStatusFromExit,
  sessionExists: geminiSessionExists,
};
