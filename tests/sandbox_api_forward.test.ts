import assert from "node:assert/strict";
import { UsageError } from "../src/errors.ts";
import { hostsFile, insideForwarderScript, planApiForward } from "../src/sandbox/api_forward.ts";

Deno.test("planApiForward: an address goes to 127.0.0.1:18080, a named host keeps its name (certificate) mapped in /etc/hosts", () => {
  assert.deepEqual(planApiForward({ ANTHROPIC_BASE_URL: "http://127.0.0.1:4000" }), {
    host: "127.0.0.1",
    port: 4000,
    insideUrl: "http://127.0.0.1:18080",
    hostsName: null,
  });
  assert.deepEqual(planApiForward({}), {
    host: "api.anthropic.com",
    port: 443,
    insideUrl: "https://api.anthropic.com:18080",
    hostsName: "api.anthropic.com",
  });
  assert.equal(
    planApiForward({ ANTHROPIC_BASE_URL: "http://gw.corp:8080/v1/" }).insideUrl,
    "http://gw.corp:18080/v1",
  );
  assert.equal(
    planApiForward({ ANTHROPIC_BASE_URL: "http://localhost:9" }).insideUrl,
    "http://127.0.0.1:18080",
  );
  assert.equal(
    hostsFile("127.0.0.1 localhost\n", "api.anthropic.com"),
    "127.0.0.1 api.anthropic.com\n127.0.0.1 localhost\n",
  );
});

Deno.test("planApiForward refuses up front what it cannot carry: Bedrock, Vertex, a proxy, https by address, not a URL", () => {
  for (
    const [env, why] of [
      [{ CLAUDE_CODE_USE_BEDROCK: "1" }, /CLAUDE_CODE_USE_BEDROCK/],
      [{ CLAUDE_CODE_USE_VERTEX: "1" }, /CLAUDE_CODE_USE_VERTEX/],
      [{ https_proxy: "http://p:3128" }, /https_proxy/],
      [{ ANTHROPIC_BASE_URL: "https://10.0.0.1" }, /certificate/],
      [{ ANTHROPIC_BASE_URL: "not a url" }, /not a URL/],
      [{ ANTHROPIC_BASE_URL: "ftp://x" }, /only http and https/],
    ] as const
  ) {
    assert.throws(
      () => planApiForward(env as Record<string, string>),
      (e) => e instanceof UsageError && why.test(e.message),
    );
  }
});

Deno.test("the inside forwarder waits for its port in /proc/net/tcp, then becomes the CLI", () => {
  const script = insideForwarderScript("/usr/bin/socat");
  assert.match(
    script,
    /^\/usr\/bin\/socat TCP-LISTEN:18080,bind=127\.0\.0\.1,fork,reuseaddr UNIX-CONNECT:\/run\/dispatch-cc\/api\.sock &/,
  );
  assert.match(script, /:46A0 00000000:0000 0A/);
  assert.match(script, /exec "\$@"$/);
});
