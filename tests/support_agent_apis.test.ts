/** The stand-in Responses and Gemini APIs: scripted steps, and never a silent success. */
import assert from "node:assert/strict";
import { selectStep, startGeminiApi, startResponsesApi } from "./support/agent_apis.ts";

Deno.test("stand-ins: the step is the number of model responses after the last marked user message", () => {
  assert.deepEqual(
    selectStep([{ role: "user", text: "a [[mock:x]]" }, { role: "model", text: "" }, {
      role: "other",
      text: "",
    }]),
    { scenario: "x", step: 1 },
  );
  assert.deepEqual(
    selectStep([
      { role: "user", text: "[[mock:x]]" },
      { role: "model", text: "" },
      { role: "user", text: "[[mock:y]]" },
    ]),
    { scenario: "y", step: 0 },
  );
  assert.equal(selectStep([{ role: "user", text: "no marker" }]), undefined);
});

Deno.test("responses stand-in: a scripted text answer streams as SSE with usage", async () => {
  const api = await startResponsesApi();
  api.scenario("s", [{ text: "hello", usage: { input_tokens: 3, output_tokens: 2 } }]);
  const r = await fetch(`${api.url}/v1/responses`, {
    method: "POST",
    body: JSON.stringify({
      input: [{ type: "message", role: "user", content: [{ type: "input_text", text: "[[mock:s]]" }] }],
    }),
  });
  const text = await r.text();
  assert.match(text, /event: response\.completed/);
  assert.match(text, /"output_text","text":"hello"/);
  assert.match(text, /"input_tokens":3/);
  await api.close();
});

Deno.test("stand-ins: an unknown scenario, a missing marker or a step past the script is a 500 and fails close()", async () => {
  for (const start of [startResponsesApi, startGeminiApi]) {
    const api = await start();
    api.scenario("one", [{ text: "only step" }]);
    const gemini = start === startGeminiApi;
    const path = gemini ? "/v1beta/models/m:streamGenerateContent?alt=sse" : "/v1/responses";
    const body = (text: string, model = false) =>
      JSON.stringify(
        gemini
          ? {
            contents: [
              { role: "user", parts: [{ text }] },
              ...(model ? [{ role: "model", parts: [{ text: "x" }] }] : []),
            ],
          }
          : {
            input: [
              { type: "message", role: "user", content: [{ type: "input_text", text }] },
              ...(model
                ? [{ type: "message", role: "assistant", content: [{ type: "output_text", text: "x" }] }]
                : []),
            ],
          },
      );
    for (const b of [body("[[mock:nope]]"), body("no marker"), body("[[mock:one]]", true)]) {
      const r = await fetch(api.url + path, { method: "POST", body: b });
      assert.equal(r.status, 500);
      await r.body?.cancel();
    }
    assert.equal(api.problems.length, 3);
    await assert.rejects(() => api.close(), /no scenario covers/);
  }
});

Deno.test("gemini stand-in: HTTP errors carry the API's error shape", async () => {
  const api = await startGeminiApi();
  api.scenario("e", [{ httpError: { status: 429, message: "slow down" } }]);
  const r = await fetch(`${api.url}/v1beta/models/m:streamGenerateContent?alt=sse`, {
    method: "POST",
    body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "[[mock:e]]" }] }] }),
  });
  assert.equal(r.status, 429);
  assert.deepEqual(await r.json(), {
    error: { code: 429, message: "slow down", status: "RESOURCE_EXHAUSTED" },
  });
  await api.close();
});
