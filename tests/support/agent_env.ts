/**
 * Offline configuration of the real Codex and Gemini CLIs for tests: a fresh home per test with the CLI's
 * own config file pointing it at a stand-in API (tests/support/agent_apis.ts), retries off, no telemetry.
 * This is what a user would write in CODEX_HOME/config.toml and GEMINI_CLI_HOME/.gemini/settings.json.
 */
import { join } from "node:path";

export const CODEX_TEST_MODEL = "mock-codex";
export const GEMINI_TEST_MODEL = "gemini-2.5-flash";

export interface AgentHome {
  /** HOME for the CLI (also GEMINI_CLI_HOME), with `tmp/` for TMPDIR. */
  home: string;
  /** The variables the CLI needs (CODEX_HOME or GEMINI_CLI_HOME, API key, base URL, TMPDIR). */
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

/**
 * A Codex home: `config.toml` with a custom provider at the stand-in (Codex ignores OPENAI_BASE_URL), no
 * retries, no analytics, no plugin fetch. CODEX_HOME must not lie under TMPDIR (Codex then refuses to
 * install its sandbox helper and every sandboxed command fails): TMPDIR is `<home>/tmp`, CODEX_HOME
 * `<home>/codex`.
 */
export async function codexHome(apiUrl: string): Promise<AgentHome> {
  const home = await Deno.makeTempDir({ prefix: "codex-home-" });
  const codex = join(home, "codex");
  await Deno.mkdir(join(home, "tmp"), { recursive: true });
  await Deno.mkdir(codex, { recursive: true });
  await Deno.writeTextFile(
    join(codex, "config.toml"),
    [
      `model = "${CODEX_TEST_MODEL}"`,
      `model_provider = "mock"`,
      `[model_providers.mock]`,
      `name = "mock"`,
      `base_url = "${apiUrl}/v1"`,
      `env_key = "OPENAI_API_KEY"`,
      `wire_api = "responses"`,
      `request_max_retries = 0`,
      `stream_max_retries = 0`,
      `[analytics]`,
      `enabled = false`,
      `[features]`,
      `plugins = false`,
      "",
    ].join("\n"),
  );
  return {
    home,
    env: { HOME: home, TMPDIR: join(home, "tmp"), CODEX_HOME: codex, OPENAI_API_KEY: "test-key" },
    cleanup: () => Deno.remove(home, { recursive: true }).catch(() => {}),
  };
}

/**
 * A Gemini home: `.gemini/settings.json` choosing API-key auth (headless refuses otherwise, exit 41), one
 * attempt per request (default 10, minutes on a 500), no telemetry, statistics or update check. Folder
 * trust stays on: dispatch-cc trusts the project itself (`--skip-trust`).
 */
export async function geminiHome(apiUrl: string, settings: Record<string, unknown> = {}): Promise<AgentHome> {
  const home = await Deno.makeTempDir({ prefix: "gemini-home-" });
  await Deno.mkdir(join(home, "tmp"), { recursive: true });
  await Deno.mkdir(join(home, ".gemini"), { recursive: true });
  await Deno.writeTextFile(
    join(home, ".gemini", "settings.json"),
    JSON.stringify(
      {
        security: { auth: { selectedType: "gemini-api-key" } },
        privacy: { usageStatisticsEnabled: false },
        telemetry: { enabled: false },
        // Session clean-up off: with it, a resume in a later minute can lose the session's history (README).
        general: {
          enableAutoUpdate: false,
          enableAutoUpdateNotification: false,
          maxAttempts: 1,
          sessionRetention: { enabled: false },
        },
        model: { name: GEMINI_TEST_MODEL },
        ...settings,
      },
      null,
      2,
    ),
  );
  return {
    home,
    env: {
      HOME: home,
      TMPDIR: join(home, "tmp"),
      GEMINI_CLI_HOME: home,
      GEMINI_API_KEY: "test-key",
      GOOGLE_GEMINI_BASE_URL: apiUrl,
    },
    cleanup: () => Deno.remove(home, { recursive: true }).catch(() => {}),
  };
}
