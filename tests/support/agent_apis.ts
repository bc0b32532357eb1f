/**
 * Scripted stand-ins for the model APIs of the Codex CLI (OpenAI Responses API, `POST /v1/responses`, SSE)
 * and the Gemini CLI (Gemini API, `POST /v1beta/models/<model>:streamGenerateContent?alt=sse`), in the
 * style of tests/support/mock_api.ts.
 *
 * A test puts a marker `[[mock:NAME]]` in the prompt. For each request the server finds the LAST user
 * message carrying a marker; the scenario is NAME and the step is the number of model responses after that
 * message (a resumed session with a new marked prompt starts its scenario at step 0 while the request still
 * carries the earlier conversation).
 *
 * Never a silent success: a request without a marker, with an unknown scenario, or past a scenario's last
 * step is answered with HTTP 500 and recorded in `problems`; `close()` throws when there are any, so the
 * test fails even if the CLI somehow did not.
 */

export interface ToolCallSpec {
  /** The CLI's own tool name (Codex: exec_command, apply_patch; Gemini: write_file, run_shell_command). */
  name: string;
  args: Record<string, unknown>;
  /** Call id; generated when absent. */
  id?: string;
}

export interface AgentUsage {
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens?: number;
}

export interface AgentStep {
  /** Assistant text (after any tool calls would be odd: sent before them). */
  text?: string;
  toolCalls?: ToolCallSpec[];
  /** Wait this long before answering. */
  delayMs?: number;
  /** Answer with this HTTP status and an API-style error body carrying `message`. */
  httpError?: { status: number; message?: string };
  usage?: AgentUsage;
}

export interface AgentRequest {
  method: string;
  path: string;
  // deno-lint-ignore no-explicit-any
  body: any;
  headers: Record<string, string>;
  scenario?: string;
  step?: number;
  at: number;
}

export interface AgentApi {
  url: string;
  requests: AgentRequest[];
  /** Requests the script did not cover (no marker, unknown scenario, past the last step). */
  problems: string[];
  defaultUsage: AgentUsage;
  scenario(name: string, steps: AgentStep[]): void;
  /** Scenario-driven requests, optionally of one scenario. */
  turns(scenario?: string): AgentRequest[];
  /** Stops the server; throws when `problems` is not empty. */
  close(): Promise<void>;
}

// deno-lint-ignore no-explicit-any
type Json = any;

const MARKER = /\[\[mock:([^\]\s]+)\]\]/g;

/** Which dialect a stand-in speaks: how it finds messages in a request and writes its answer. */
interface Dialect {
  /** Is this a model turn (else: 404 and a problem)? */
  isTurn(method: string, pathname: string): boolean;
  /** The conversation as (role, text of user messages) in order; model responses as role "model". */
  conversation(body: Json): { role: "user" | "model" | "other"; text: string }[];
  answer(step: AgentStep, usage: AgentUsage, n: number, body: Json, path: string): Response;
  error(status: number, message: string): Response;
}

function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Scenario and step of a conversation (exported for unit tests). */
export function selectStep(
  convo: { role: "user" | "model" | "other"; text: string }[],
): { scenario: string; step: number } | undefined {
  for (let i = convo.length - 1; i >= 0; i--) {
    if (convo[i].role !== "user") continue;
    const found = [...convo[i].text.matchAll(MARKER)];
    if (found.length === 0) continue;
    return {
      scenario: found[found.length - 1][1],
      step: convo.slice(i + 1).filter((m) => m.role === "model").length,
    };
  }
  return undefined;
}

async function startServer(dialect: Dialect): Promise<AgentApi> {
  const scenarios = new Map<string, AgentStep[]>();
  const requests: AgentRequest[] = [];
  const problems: string[] = [];
  const closing = new AbortController();
  let counter = 0;
  const state = { defaultUsage: { input_tokens: 100, output_tokens: 50 } as AgentUsage };

  async function handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const n = ++counter;
    const text = await req.text();
    let body: Json = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch { /* not JSON */ }
    const rec: AgentRequest = {
      method: req.method,
      path: url.pathname + url.search,
      body,
      headers: Object.fromEntries(req.headers),
      at: Date.now(),
    };
    requests.push(rec);
    const fail = (why: string) => {
      problems.push(`${req.method} ${rec.path}: ${why}`);
      return dialect.error(500, `[stand-in] ${why}`);
    };
    if (!dialect.isTurn(req.method, url.pathname)) return fail("not a model turn this stand-in answers");
    const sel = selectStep(dialect.conversation(body));
    if (!sel) return fail("no [[mock:NAME]] marker in the conversation");
    rec.scenario = sel.scenario;
    rec.step = sel.step;
    const steps = scenarios.get(sel.scenario);
    if (!steps) return fail(`unknown scenario "${sel.scenario}"`);
    const step = steps[sel.step];
    if (!step) return fail(`scenario "${sel.scenario}" has no step ${sel.step}`);
    if (step.delayMs) {
      if (!await sleep(step.delayMs, closing.signal)) return dialect.error(503, "stand-in closing");
    }
    if (step.httpError) {
      return dialect.error(
        step.httpError.status,
        step.httpError.message ?? `mock error ${step.httpError.status}`,
      );
    }
    return dialect.answer(step, step.usage ?? state.defaultUsage, n, body, url.pathname);
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
      problems.push(`stand-in crashed: ${e}`);
      return dialect.error(500, `stand-in crashed: ${e}`);
    }
  });
  await listening.promise;
  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    problems,
    get defaultUsage() {
      return state.defaultUsage;
    },
    set defaultUsage(u: AgentUsage) {
      state.defaultUsage = u;
    },
    scenario(name, steps) {
      if (!/^[^\]\s]+$/.test(name)) throw new Error(`bad scenario name: ${name}`);
      scenarios.set(name, steps);
    },
    turns(scenario) {
      return requests.filter((r) =>
        r.scenario !== undefined && (scenario === undefined || r.scenario === scenario)
      );
    },
    async close() {
      closed ??= (async () => {
        closing.abort();
        await server.finished;
      })();
      await closed;
      if (problems.length > 0) {
        throw new Error(`the stand-in API was asked what no scenario covers:\n${problems.join("\n")}`);
      }
    },
  };
}

// --- OpenAI Responses API (Codex) ---

const sse = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

function responsesText(content: Json): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.map((c: Json) => (typeof c?.text === "string" ? c.text : "")).join("\n");
}

const MODEL_ITEMS = new Set(["function_call", "custom_tool_call", "local_shell_call", "reasoning"]);

const responsesDialect: Dialect = {
  isTurn: (method, pathname) => method === "POST" && pathname === "/v1/responses",
  conversation(body) {
    const items: Json[] = Array.isArray(body?.input) ? body.input : [];
    // One model response is a run of consecutive model items (assistant messages, tool calls).
    const out: { role: "user" | "model" | "other"; text: string }[] = [];
    let inModel = false;
    for (const it of items) {
      const isModel = (it?.type === "message" || it?.type === undefined) && it?.role === "assistant" ||
        MODEL_ITEMS.has(it?.type);
      if (isModel) {
        if (!inModel) out.push({ role: "model", text: "" });
        inModel = true;
        continue;
      }
      inModel = false;
      if ((it?.type === "message" || it?.type === undefined) && it?.role === "user") {
        out.push({ role: "user", text: responsesText(it.content) });
      } else out.push({ role: "other", text: "" });
    }
    return out;
  },
  answer(step, usage, n) {
    const id = `resp_mock_${n}`;
    let out = sse("response.created", {
      type: "response.created",
      response: { id, object: "response", status: "in_progress", output: [] },
    });
    let index = 0;
    if (step.text !== undefined) {
      const item = {
        type: "message",
        id: `msg_mock_${n}`,
        role: "assistant",
        status: "completed",
        content: [{ type: "output_text", text: step.text, annotations: [] }],
      };
      out += sse("response.output_item.added", {
        type: "response.output_item.added",
        output_index: index,
        item: { ...item, status: "in_progress", content: [] },
      });
      out += sse("response.output_text.delta", {
        type: "response.output_text.delta",
        item_id: item.id,
        output_index: index,
        content_index: 0,
        delta: step.text,
      });
      out += sse("response.output_item.done", {
        type: "response.output_item.done",
        output_index: index,
        item,
      });
      index++;
    }
    (step.toolCalls ?? []).forEach((t, i) => {
      const item = {
        type: "function_call",
        id: `fc_mock_${n}_${i}`,
        call_id: t.id ?? `call_mock_${n}_${i}`,
        name: t.name,
        arguments: JSON.stringify(t.args),
        status: "completed",
      };
      out += sse("response.output_item.done", {
        type: "response.output_item.done",
        output_index: index++,
        item,
      });
    });
    out += sse("response.completed", {
      type: "response.completed",
      response: {
        id,
        object: "response",
        status: "completed",
        usage: {
          input_tokens: usage.input_tokens,
          input_tokens_details: { cached_tokens: usage.cached_input_tokens ?? 0 },
          output_tokens: usage.output_tokens,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: usage.input_tokens + usage.output_tokens,
        },
      },
    });
    return new Response(out, {
      headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
    });
  },
  error(status, message) {
    return Response.json({
      error: { message, type: status >= 500 ? "server_error" : "invalid_request_error", code: null },
    }, {
      status,
    });
  },
};

/** The OpenAI Responses API stand-in the Codex CLI talks to (see codexTestConfig for pointing it here). */
export const startResponsesApi = (): Promise<AgentApi> => startServer(responsesDialect);

// --- Gemini API (Gemini CLI) ---

const GEMINI_STATUS: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  429: "RESOURCE_EXHAUSTED",
  500: "INTERNAL",
  503: "UNAVAILABLE",
};

const geminiDialect: Dialect = {
  isTurn: (method, pathname) =>
    method === "POST" && /^\/v1beta\/models\/[^/]+:streamGenerateContent$/.test(pathname),
  conversation(body) {
    const contents: Json[] = Array.isArray(body?.contents) ? body.contents : [];
    return contents.map((c) => {
      if (c?.role === "model") return { role: "model" as const, text: "" };
      const parts: Json[] = Array.isArray(c?.parts) ? c.parts : [];
      const texts = parts.filter((p) => typeof p?.text === "string").map((p) => p.text);
      // A user content of only functionResponse parts is a tool result, not a prompt.
      return texts.length > 0
        ? { role: "user" as const, text: texts.join("\n") }
        : { role: "other" as const, text: "" };
    });
  },
  answer(step, usage, n) {
    const parts: Json[] = [];
    if (step.text !== undefined) parts.push({ text: step.text });
    for (const t of step.toolCalls ?? []) {
      parts.push({ functionCall: { name: t.name, args: t.args, ...(t.id ? { id: t.id } : {}) } });
    }
    if (parts.length === 0) parts.push({ text: "" });
    const chunk = {
      candidates: [{ content: { role: "model", parts }, finishReason: "STOP", index: 0 }],
      usageMetadata: {
        promptTokenCount: usage.input_tokens,
        candidatesTokenCount: usage.output_tokens,
        cachedContentTokenCount: usage.cached_input_tokens ?? 0,
        totalTokenCount: usage.input_tokens + usage.output_tokens,
      },
      modelVersion: "gemini-mock",
      responseId: `gem_mock_${n}`,
    };
    return new Response(`data: ${JSON.stringify(chunk)}\r\n\r\n`, {
      headers: { "content-type": "text/event-stream" },
    });
  },
  error(status, message) {
    return Response.json({ error: { code: status, message, status: GEMINI_STATUS[status] ?? "UNKNOWN" } }, {
      status,
    });
  },
};

/** The Gemini API stand-in the Gemini CLI talks to (GOOGLE_GEMINI_BASE_URL). */
export const startGeminiApi = (): Promise<AgentApi> => startServer(geminiDialect);
