/**
 * A scripted Anthropic Messages API for driving the real Claude Code CLI offline.
 *
 * Scenario selection is stateless, so any number of concurrent CLI processes can share one server:
 * the test puts a marker `[[mock:NAME]]` in the prompt. For each request the server finds the LAST
 * user message whose text (a string content or a `text` block; tool results are ignored) contains a
 * marker; the scenario is NAME and the step index is the number of assistant messages after that
 * user message. A resumed session with a new prompt carrying a marker therefore starts that
 * scenario at step 0, while the request still carries the earlier conversation.
 *
 * Main conversation turns are requests that offer tools (`tools` is a non-empty array). Anything
 * else (side calls such as title/summary generation) gets a short valid answer, never a scenario
 * step, and is recorded with `main: false`.
 *
 * See tests/support/FINDINGS.md for what the CLI actually sends.
 */

export interface ToolUseSpec {
  name: string;
  input: unknown;
  /** Tool use id; generated (unique per server) when absent. */
  id?: string;
}

export interface Usage {
  input_tokens: number;
  output_tokens: number;
}

export interface Step {
  /** Text block (sent before any tool_use blocks). */
  text?: string;
  /** One or more tool calls; the step then ends with stop_reason "tool_use". */
  toolUse?: ToolUseSpec | ToolUseSpec[];
  /** Wait this long before sending the response headers. */
  delayMs?: number;
  /** Answer with this HTTP status and an Anthropic-style error body (or `body` verbatim). */
  httpError?: { status: number; body?: unknown; times?: number };
  /** Token usage of this response (default: the server's `defaultUsage`). */
  usage?: Usage;
  /** Override stop_reason (default "tool_use" with toolUse, else "end_turn"). */
  stopReason?: string;
}

export interface RecordedRequest {
  method: string;
  /** Path and query, e.g. "/v1/messages?beta=true". */
  path: string;
  /** Path without query. */
  pathname: string;
  headers: Record<string, string>;
  /** Parsed JSON body, or null when the body was empty / not JSON. */
  // deno-lint-ignore no-explicit-any
  body: any;
  /** True for a main conversation turn on /v1/messages (a request that offers tools). */
  main: boolean;
  /** Scenario selected by the marker, if any (main turns only). */
  scenario?: string;
  /** Step index within the scenario (main turns with a marker only). */
  step?: number;
  /** Date.now() when the request arrived. */
  at: number;
}

export interface MockApi {
  /** Base URL for ANTHROPIC_BASE_URL, e.g. "http://127.0.0.1:41234". */
  url: string;
  port: number;
  /** Every request received, in arrival order. */
  requests: RecordedRequest[];
  /** Usage used when a step has none. Mutable. */
  defaultUsage: Usage;
  /** Register (or replace) a scenario. */
  scenario(name: string, steps: Step[]): void;
  /** Main-turn requests, optionally only those of one scenario. */
  mainRequests(scenario?: string): RecordedRequest[];
  /** Scenario names requested by a marker but never registered (each answered with an API error). */
  unknownScenarios: string[];
  /**
   * Abort pending delays and stop the server; waits for in-flight responses to end. Rejects when a
   * request named a scenario that was never registered: a mistyped marker fails the test that made it.
   */
  close(): Promise<void>;
}

const MARKER = /\[\[mock:([^\]\s]+)\]\]/g;

const ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  529: "overloaded_error",
};

// deno-lint-ignore no-explicit-any
type Json = any;

/** Text of a message that may carry a marker: string content or `text` blocks (not tool results). */
function userText(message: Json): string {
  const c = message?.content;
  if (typeof c === "string") return c;
  if (!Array.isArray(c)) return "";
  return c.filter((b: Json) => b?.type === "text" && typeof b.text === "string").map((b: Json) => b.text)
    .join("\n");
}

/** Scenario and step selection (exported for unit tests). */
export function selectScenario(messages: unknown): { scenario: string; step: number } | undefined {
  if (!Array.isArray(messages)) return undefined;
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m?.role !== "user") continue;
    const found = [...userText(m).matchAll(MARKER)];
    if (found.length === 0) continue;
    const scenario = found[found.length - 1][1];
    const step = messages.slice(i + 1).filter((x: Json) => x?.role === "assistant").length;
    return { scenario, step };
  }
  return undefined;
}

function isMainTurn(body: Json): boolean {
  return Array.isArray(body?.tools) && body.tools.length > 0;
}

function sse(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

function errorResponse(status: number, body?: unknown, requestId = "req_mock"): Response {
  const payload = body ?? {
    type: "error",
    error: { type: ERROR_TYPES[status] ?? "api_error", message: `mock error ${status}` },
    request_id: requestId,
  };
  return new Response(typeof payload === "string" ? payload : JSON.stringify(payload), {
    status,
    headers: { "content-type": "application/json", "request-id": requestId },
  });
}

/** Resolves after ms, or early (returning false) when any signal aborts. Leaves no timer behind. */
function sleep(ms: number, ...signals: AbortSignal[]): Promise<boolean> {
  return new Promise((resolve) => {
    if (signals.some((s) => s.aborted)) return resolve(false);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      for (const s of signals) s.removeEventListener("abort", onAbort);
      resolve(ok);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    for (const s of signals) s.addEventListener("abort", onAbort, { once: true });
  });
}

export async function startMockApi(): Promise<MockApi> {
  const scenarios = new Map<string, Step[]>();
  const unknown: string[] = [];
  // How many error answers each (scenario, step) has served, for `httpError.times`.
  const errorsServed = new Map<string, number>();
  const requests: RecordedRequest[] = [];
  const closing = new AbortController();
  let counter = 0;
  const runId = Math.random().toString(36).slice(2, 8);
  const api = { defaultUsage: { input_tokens: 100, output_tokens: 50 } as Usage };

  function message(model: string, blocks: Json[], stopReason: string | null, usage: Usage, id: string) {
    return {
      id,
      type: "message",
      role: "assistant",
      model,
      content: blocks,
      stop_reason: stopReason,
      stop_sequence: null,
      usage: {
        input_tokens: usage.input_tokens,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        output_tokens: usage.output_tokens,
        service_tier: "standard",
      },
    };
  }

  function stream(model: string, blocks: Json[], stopReason: string, usage: Usage, id: string): string {
    let out = sse("message_start", {
      type: "message_start",
      message: message(model, [], null, { ...usage, output_tokens: 1 }, id),
    });
    out += sse("ping", { type: "ping" });
    blocks.forEach((b, index) => {
      if (b.type === "text") {
        out += sse("content_block_start", {
          type: "content_block_start",
          index,
          content_block: { type: "text", text: "" },
        });
        // Split into a couple of deltas, as the real API does.
        const mid = Math.ceil(b.text.length / 2);
        for (const part of [b.text.slice(0, mid), b.text.slice(mid)]) {
          if (part === "") continue;
          out += sse("content_block_delta", {
            type: "content_block_delta",
            index,
            delta: { type: "text_delta", text: part },
          });
        }
      } else {
        out += sse("content_block_start", {
          type: "content_block_start",
          index,
          content_block: { type: "tool_use", id: b.id, name: b.name, input: {} },
        });
        const json = JSON.stringify(b.input ?? {});
        const mid = Math.ceil(json.length / 2);
        for (const part of ["", json.slice(0, mid), json.slice(mid)]) {
          out += sse("content_block_delta", {
            type: "content_block_delta",
            index,
            delta: { type: "input_json_delta", partial_json: part },
          });
        }
      }
      out += sse("content_block_stop", { type: "content_block_stop", index });
    });
    out += sse("message_delta", {
      type: "message_delta",
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: {
        input_tokens: usage.input_tokens,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        output_tokens: usage.output_tokens,
      },
    });
    out += sse("message_stop", { type: "message_stop" });
    return out;
  }

  function reply(body: Json, blocks: Json[], stopReason: string, usage: Usage, n: number): Response {
    const id = `msg_mock_${runId}_${n}`;
    const model = typeof body?.model === "string" ? body.model : "claude-mock";
    const headers = { "request-id": `req_mock_${runId}_${n}` };
    if (body?.stream === true) {
      return new Response(stream(model, blocks, stopReason, usage, id), {
        headers: { ...headers, "content-type": "text/event-stream", "cache-control": "no-cache" },
      });
    }
    return Response.json(message(model, blocks, stopReason, usage, id), { headers });
  }

  async function handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const n = ++counter;
    const text = await req.text();
    let body: Json = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch { /* not JSON */ }
    const rec: RecordedRequest = {
      method: req.method,
      path: url.pathname + url.search,
      pathname: url.pathname,
      headers: Object.fromEntries(req.headers),
      body,
      main: false,
      at: Date.now(),
    };
    requests.push(rec);

    if (url.pathname === "/v1/messages/count_tokens") {
      return Response.json({ input_tokens: Math.max(1, Math.ceil(text.length / 4)) });
    }
    if (url.pathname === "/api/hello") {
      // Connectivity probe sent at startup unless CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1.
      return Response.json({ message: "hello" });
    }
    if (url.pathname === "/v1/models") {
      return Response.json({ data: [], has_more: false, first_id: null, last_id: null });
    }
    if (url.pathname !== "/v1/messages" || req.method !== "POST") {
      return errorResponse(404, undefined, `req_mock_${runId}_${n}`);
    }
    if (body === null || typeof body !== "object") {
      return errorResponse(400, undefined, `req_mock_${runId}_${n}`);
    }

    if (!isMainTurn(body)) {
      // Side call: short, valid, never scenario-driven.
      return reply(body, [{ type: "text", text: "Mock side answer" }], "end_turn", {
        input_tokens: 10,
        output_tokens: 5,
      }, n);
    }

    rec.main = true;
    const sel = selectScenario(body.messages);
    let step: Step | undefined;
    const fallback = "done";
    if (sel) {
      rec.scenario = sel.scenario;
      rec.step = sel.step;
      const steps = scenarios.get(sel.scenario);
      if (steps === undefined) {
        // Never a success: a mistyped marker must not pass as a run that did what the test scripted.
        unknown.push(sel.scenario);
        return errorResponse(400, {
          type: "error",
          error: { type: "invalid_request_error", message: `[mock] unknown scenario "${sel.scenario}"` },
        }, `req_mock_${runId}_${n}`);
      }
      step = steps[sel.step];
    }
    if (step === undefined) {
      return reply(body, [{ type: "text", text: fallback }], "end_turn", api.defaultUsage, n);
    }

    if (step.delayMs !== undefined && step.delayMs > 0) {
      const ok = await sleep(step.delayMs, closing.signal);
      if (!ok) return errorResponse(529, undefined, `req_mock_${runId}_${n}`);
    }
    if (step.httpError) {
      // `times`: fail only the first N requests of this step (a retry then succeeds with the step's content).
      const key = `${sel?.scenario}#${sel?.step}`;
      const seen = (errorsServed.get(key) ?? 0) + 1;
      errorsServed.set(key, seen);
      if (step.httpError.times === undefined || seen <= step.httpError.times) {
        return errorResponse(step.httpError.status, step.httpError.body, `req_mock_${runId}_${n}`);
      }
    }
    const blocks: Json[] = [];
    if (step.text !== undefined) blocks.push({ type: "text", text: step.text });
    const tools = step.toolUse === undefined
      ? []
      : Array.isArray(step.toolUse)
      ? step.toolUse
      : [step.toolUse];
    tools.forEach((t, i) => {
      blocks.push({
        type: "tool_use",
        id: t.id ?? `toolu_mock_${runId}_${n}_${i}`,
        name: t.name,
        input: t.input ?? {},
      });
    });
    if (blocks.length === 0) blocks.push({ type: "text", text: "" });
    const stopReason = step.stopReason ?? (tools.length > 0 ? "tool_use" : "end_turn");
    return reply(body, blocks, stopReason, step.usage ?? api.defaultUsage, n);
  }

  const listening = Promise.withResolvers<void>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => listening.resolve(),
    signal: closing.signal,
  }, async (req) => {
    try {
      return await handle(req);
    } catch (e) {
      return errorResponse(500, {
        type: "error",
        error: { type: "api_error", message: `mock crashed: ${e}` },
      });
    }
  });
  await listening.promise;
  const port = server.addr.port;

  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    get defaultUsage() {
      return api.defaultUsage;
    },
    set defaultUsage(u: Usage) {
      api.defaultUsage = u;
    },
    scenario(name: string, steps: Step[]) {
      if (!/^[^\]\s]+$/.test(name)) throw new Error(`bad scenario name: ${name}`);
      scenarios.set(name, steps);
    },
    mainRequests(scenario?: string) {
      return requests.filter((r) => r.main && (scenario === undefined || r.scenario === scenario));
    },
    unknownScenarios: unknown,
    close() {
      closed ??= (async () => {
        closing.abort();
        await server.finished;
        if (unknown.length > 0) {
          throw new Error(
            `the scripted API was asked for unregistered scenario(s): ${[...new Set(unknown)].join(", ")}`,
          );
        }
      })();
      return closed;
    },
  };
}
