/**
 * `--no-network` that still reaches the model API: the sandbox gets its own network namespace (nothing
 * but its own loopback), and one forwarder carries connections to the API endpoint only. On the host,
 * `socat` listens on a unix socket and connects each connection to the endpoint; the socket is bound into
 * the sandbox, where a second `socat` listens on 127.0.0.1:{@linkcode INSIDE_PORT} and connects to it.
 * The CLI's base URL is rewritten to that port: `http://127.0.0.1:PORT` for an address, or the same host
 * name with the port changed and the name mapped to 127.0.0.1 in the sandbox's /etc/hosts (so that an
 * HTTPS certificate still matches). Claude Code's own sandbox also forwards through socat.
 */
import { UsageError } from "../errors.ts";
import { API_SOCKET } from "./bwrap.ts";

/** The port the inside forwarder listens on (the network namespace is the run's own: always free). */
export const INSIDE_PORT = 18080;

/** The default endpoint when `ANTHROPIC_BASE_URL` is not set. */
export const DEFAULT_API = "https://api.anthropic.com";

/** How the API is reached from inside a sandbox without network. */
export interface ApiForward {
  /** The endpoint on the host side: host name (or address) and port. */
  host: string;
  port: number;
  /** `ANTHROPIC_BASE_URL` inside. */
  insideUrl: string;
  /** A host name to map to 127.0.0.1 inside (a named host other than localhost), or null. */
  hostsName: string | null;
}

const PROXY_NAMES = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"];

/**
 * Plans the forwarder for an environment, or refuses up front (exit 2) with the reason when the API
 * cannot be carried this way: Bedrock or Vertex (several endpoints and their credential services), a
 * proxy (the CLI would send everything to the proxy), or a base URL that is not http(s).
 *
 * @example
 * ```ts
 * planApiForward({ ANTHROPIC_BASE_URL: "http://127.0.0.1:4000" });
 * // { host: "127.0.0.1", port: 4000, insideUrl: "http://127.0.0.1:18080", hostsName: null }
 * ```
 */
export function planApiForward(env: Record<string, string>): ApiForward {
  const refuse = (why: string) =>
    new UsageError(
      `--no-network cannot keep the model API reachable: ${why}. Nothing was run. ` +
        `Use --sandbox (with network), or unset it for this run.`,
    );
  for (const name of ["CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX"]) {
    if (env[name] && env[name] !== "0") throw refuse(`${name} is set (only the Anthropic API is forwarded)`);
  }
  const proxy = PROXY_NAMES.find((n) => env[n]);
  if (proxy) throw refuse(`${proxy} is set (the API would be reached through a proxy)`);
  const raw = env.ANTHROPIC_BASE_URL || DEFAULT_API;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refuse(`ANTHROPIC_BASE_URL ${JSON.stringify(raw)} is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw refuse(`ANTHROPIC_BASE_URL uses ${url.protocol} (only http and https are forwarded)`);
  }
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const path = url.pathname === "/" ? "" : url.pathname.replace(/\/$/, "");
  const isAddress = /^[0-9.]+$/.test(host) || host.includes(":");
  if (url.protocol === "https:" && isAddress) {
    throw refuse("an https endpoint given by address cannot be forwarded with its certificate");
  }
  // A named host keeps its name (its certificate, its virtual host), mapped to the forwarder inside.
  const insideHost = isAddress || host === "localhost" ? "127.0.0.1" : host;
  return {
    host,
    port,
    insideUrl: `${url.protocol}//${insideHost}:${INSIDE_PORT}${path}${url.search}`,
    hostsName: isAddress || host === "localhost" ? null : host,
  };
}

/**
 * The shell script that starts the inside forwarder, waits until it listens (read from /proc, without a
 * connection), then becomes the CLI (`exec "$@"`): run as `sh -c SCRIPT sh CLI ARGS...`.
 */
export function insideForwarderScript(socat: string): string {
  const hex = INSIDE_PORT.toString(16).toUpperCase().padStart(4, "0");
  return [
    `${socat} TCP-LISTEN:${INSIDE_PORT},bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:${API_SOCKET} &`,
    "i=0",
    `while ! grep -q ':${hex} 00000000:0000 0A' /proc/net/tcp; do`,
    '  i=$((i+1)); if [ "$i" -gt 200 ]; then echo "dispatch-cc: the API forwarder did not start" >&2; exit 1; fi',
    "  sleep 0.05",
    "done",
    'exec "$@"',
  ].join("\n");
}

/** The /etc/hosts the sandbox sees when an HTTPS host name is mapped to the inside forwarder. */
export function hostsFile(original: string, name: string): string {
  return `127.0.0.1 ${name}\n${original}`;
}

/** The host forwarder: `socat` from the unix socket to the endpoint. Stop it after the run. */
export interface HostForwarder {
  stop(): Promise<void>;
}

/**
 * Starts the host forwarder and waits for its socket (a bind needs an existing source). Throws when it
 * does not come up.
 */
export async function startHostForwarder(
  socat: string,
  socket: string,
  fwd: ApiForward,
): Promise<HostForwarder> {
  const target = fwd.host.includes(":") ? `TCP6:[${fwd.host}]:${fwd.port}` : `TCP:${fwd.host}:${fwd.port}`;
  const child = new Deno.Command(socat, {
    args: [`UNIX-LISTEN:${socket},fork,mode=600`, target],
    clearEnv: true,
    env: { PATH: "/usr/bin:/bin" },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    await child.status;
  };
  for (let i = 0; i < 200; i++) {
    if (await Deno.lstat(socket).then(() => true, () => false)) return { stop };
    await new Promise((r) => setTimeout(r, 25));
  }
  await stop();
  throw new Error(`the API forwarder (socat) did not start: no socket at ${socket}`);
}
