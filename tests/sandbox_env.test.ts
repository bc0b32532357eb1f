import assert from "node:assert/strict";
import { childEnv, envNamesReport, isInheritedName } from "../src/sandbox/env.ts";
import { UsageError } from "../src/errors.ts";

const PARENT: Record<string, string> = {
  PATH: "/usr/bin:/bin",
  HOME: "/home/u",
  USER: "u",
  LANG: "C.UTF-8",
  LC_ALL: "C.UTF-8",
  LC_CTYPE: "C.UTF-8",
  TERM: "xterm",
  TMPDIR: "/tmp",
  ANTHROPIC_API_KEY: "sk-ant",
  ANTHROPIC_BASE_URL: "http://127.0.0.1:1",
  ANTHROPIC_VERTEX_PROJECT_ID: "proj",
  CLAUDE_CODE_USE_BEDROCK: "1",
  CLAUDE_CONFIG_DIR: "/home/u/.claude",
  AWS_REGION: "us-east-1",
  AWS_SECRET_ACCESS_KEY: "aws-secret",
  AWS_BEARER_TOKEN_BEDROCK: "bedrock",
  CLOUD_ML_REGION: "us-east5",
  VERTEX_REGION_CLAUDE_3_5_HAIKU: "us-east5",
  GOOGLE_APPLICATION_CREDENTIALS: "/home/u/gcp.json",
  HTTPS_PROXY: "http://proxy:3128",
  https_proxy: "http://proxy:3128",
  NO_PROXY: "localhost",
  NODE_EXTRA_CA_CERTS: "/etc/ca.pem",
  SECRET_TOKEN: "s",
  GITHUB_TOKEN: "ghp",
  OPENAI_API_KEY: "sk-openai",
  NPM_TOKEN: "npm",
  DISPATCH_PROJECTS_DIR: "/home/u/p",
  DISPATCH_CC_BIN: "/usr/bin/claude",
  SSH_AUTH_SOCK: "/run/ssh.sock",
  LD_PRELOAD: "/evil.so",
  NODE_OPTIONS: "--require /evil.js",
  CLAUDECODE: "1",
  CLAUDE_CODE_SSE_PORT: "12345",
  CLAUDE_CODE_ENTRYPOINT: "cli",
  CLAUDE_CODE_MESSAGING_SOCKET: "/tmp/cc-msg.sock",
  CLAUDE_CODE_MESSAGING_TOKEN: "tok",
  CLAUDE_CODE_CHILD_NOTES_DIR: "/tmp/notes",
  CLAUDE_CODE_LAUNCHED_BY_SESSION_IDS: "abc",
};

Deno.test("childEnv keeps the allow-listed names with their values", () => {
  const env = childEnv(PARENT, {});
  for (
    const name of [
      "PATH",
      "HOME",
      "USER",
      "LANG",
      "LC_ALL",
      "LC_CTYPE",
      "TERM",
      "TMPDIR",
      "ANTHROPIC_API_KEY",
      "ANTHROPIC_BASE_URL",
      "ANTHROPIC_VERTEX_PROJECT_ID",
      "CLAUDE_CODE_USE_BEDROCK",
      "CLAUDE_CONFIG_DIR",
      "AWS_REGION",
      "AWS_SECRET_ACCESS_KEY",
      "AWS_BEARER_TOKEN_BEDROCK",
      "CLOUD_ML_REGION",
      "VERTEX_REGION_CLAUDE_3_5_HAIKU",
      "GOOGLE_APPLICATION_CREDENTIALS",
      "HTTPS_PROXY",
      "https_proxy",
      "NO_PROXY",
      "NODE_EXTRA_CA_CERTS",
    ]
  ) {
    assert.equal(env[name], PARENT[name], name);
  }
});

Deno.test("childEnv drops other services' secrets, DISPATCH_* and loader hooks", () => {
  const env = childEnv(PARENT, {});
  for (
    const name of [
      "SECRET_TOKEN",
      "GITHUB_TOKEN",
      "OPENAI_API_KEY",
      "NPM_TOKEN",
      "DISPATCH_PROJECTS_DIR",
      "DISPATCH_CC_BIN",
      "SSH_AUTH_SOCK",
      "LD_PRELOAD",
      "NODE_OPTIONS",
    ]
  ) {
    assert.equal(name in env, false, name);
  }
});

Deno.test("childEnv drops the markers of a calling Claude Code session", () => {
  const env = childEnv(PARENT, {});
  assert.equal("CLAUDECODE" in env, false);
  assert.equal("CLAUDE_CODE_SSE_PORT" in env, false);
  assert.equal("CLAUDE_CODE_ENTRYPOINT" in env, false);
  // What Claude Code gives an MCP server it starts (dispatch-cc mcp): the caller's messaging channel.
  for (const name of Object.keys(PARENT).filter((n) => /MESSAGING|CHILD_NOTES|LAUNCHED_BY/.test(n))) {
    assert.equal(name in env, false, name);
  }
  assert.equal(isInheritedName("CLAUDE_CODE_MAX_RETRIES"), true);
});

Deno.test("childEnv passes the extra names asked for, and only those", () => {
  const env = childEnv(PARENT, { extraNames: ["NPM_TOKEN", "NOT_SET_ANYWHERE", "CLAUDECODE"] });
  assert.equal(env.NPM_TOKEN, "npm");
  assert.equal(env.CLAUDECODE, "1");
  assert.equal("NOT_SET_ANYWHERE" in env, false);
  assert.equal("GITHUB_TOKEN" in env, false);
});

Deno.test("childEnv rejects an extra name that is not a variable name with a UsageError", () => {
  for (const bad of ["", "1ABC", "A-B", "A B", "A=B", "LC_*", "PATH\n"]) {
    assert.throws(() => childEnv(PARENT, { extraNames: [bad] }), UsageError, JSON.stringify(bad));
  }
  assert.throws(() => childEnv(PARENT, { extraNames: ["A-B"] }), /"A-B" is not valid/);
});

Deno.test("childEnv values set by dispatch-cc win over inherited ones", () => {
  const env = childEnv(PARENT, { set: { DISPATCH_RUN_ID: "run-1", TMPDIR: "/var/tmp/x", IS_SANDBOX: "1" } });
  assert.equal(env.DISPATCH_RUN_ID, "run-1");
  assert.equal(env.TMPDIR, "/var/tmp/x");
  assert.equal(env.IS_SANDBOX, "1");
});

Deno.test("childEnv does not change its input", () => {
  const parent = { PATH: "/bin", GITHUB_TOKEN: "x" };
  childEnv(parent, { set: { PATH: "/usr/bin" } });
  assert.deepEqual(parent, { PATH: "/bin", GITHUB_TOKEN: "x" });
});

Deno.test("envNamesReport lists names sorted and never values", () => {
  const report = envNamesReport({ PATH: "/bin", ANTHROPIC_API_KEY: "sk-secret", HOME: "/h" });
  assert.deepEqual(report, ["ANTHROPIC_API_KEY", "HOME", "PATH"]);
  assert.equal(JSON.stringify(report).includes("sk-secret"), false);
});
