/**
 * Layer 1: dispatch-cc's own Deno permissions, as shipped: the "dispatch" set of deno.json, the one
 * `deno task dispatch-cc`, the tests (tests/support/cli.ts) and `deno task compile` use.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { CONFIG, REPO, runCli } from "./support/cli.ts";

const PROBE = join(REPO, "tests", "support", "probe.ts");

async function probe(permissionFlags: string[], scratch: string, port: number) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--config",
      CONFIG,
      ...permissionFlags,
      "--no-prompt",
      "--quiet",
      PROBE,
      scratch,
      String(port),
    ],
    cwd: REPO,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout)) as Record<string, string>;
}

Deno.test("the declared permission set refuses network, FFI, /proc and writes to system folders, and allows what dispatch-cc does", async () => {
  const scratch = await Deno.makeTempDir({ prefix: "dispatch-probe-" });
  let hits = 0;
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, () => {
    hits++;
    return new Response("hi");
  });
  try {
    const r = await probe(["-P=dispatch"], scratch, server.addr.port);
    assert.match(r.net_fetch, /NotCapable|Requires net access/);
    assert.match(r.net_listen, /NotCapable/);
    assert.match(r.ffi_dlopen, /NotCapable/);
    assert.match(r.write_etc, /NotCapable/);
    assert.match(r.write_usr, /NotCapable/);
    assert.match(r.read_proc, /NotCapable/);
    assert.match(r.sys_memory, /NotCapable/);
    assert.equal(hits, 0, "no request reached the server");
    for (const k of ["write_scratch", "read_scratch", "env_all", "run_child", "kill_pid", "sys_uid"]) {
      assert.equal(r[k], "ok", `${k}: ${r[k]}`);
    }
    // The same probe with every permission reaches the server: the refusal above is the permission set's.
    const all = await probe(
      ["--allow-net=127.0.0.1", "--allow-read", "--allow-write=" + scratch],
      scratch,
      server.addr.port,
    );
    assert.equal(all.net_fetch, "ok");
    assert.equal(hits, 1);
  } finally {
    await server.shutdown();
    await Deno.remove(scratch, { recursive: true });
  }
});

Deno.test("dispatch-cc as shipped reports its Deno layer in --dry-run: net and ffi refused, writes to /etc refused", async () => {
  const root = await Deno.makeTempDir({ prefix: "dispatch-perm-" });
  try {
    const env = {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: root,
      DISPATCH_PROJECTS_DIR: join(root, "projects"),
      DISPATCH_CC_BIN: "/bin/true",
    };
    const r = await runCli(["run", "--slug", "p", "--prompt", "x", "--dry-run", "--json"], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      { net: r.json.layers.deno.net, ffi: r.json.layers.deno.ffi, etc: r.json.layers.deno["write /etc"] },
      { net: "refused", ffi: "refused", etc: "refused" },
    );
    assert.equal(r.json.layers.deno.write, "partial");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("deno task dispatch-cc runs with the flags the supervisor, tests and benchmarks use", async () => {
  const { DENO_RUN_FLAGS } = await import("../src/run_flags.ts");
  const config = JSON.parse(await Deno.readTextFile(CONFIG));
  assert.equal(config.tasks["dispatch-cc"].command, `deno run ${DENO_RUN_FLAGS.join(" ")} src/main.ts`);
  const compile = await Deno.readTextFile(join(REPO, "scripts", "compile.ts"));
  assert.match(compile, /"-P=dispatch",\n\s+"--no-prompt",\n\s+V8_FLAG,/);
});
