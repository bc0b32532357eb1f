/**
 * Tries, under whatever permissions it was started with, what dispatch-cc must never do and what it
 * must be able to do, and prints one JSON object: each attempt "ok" or the error class name.
 * tests/sandbox_deno_permissions.test.ts runs it with dispatch-cc's declared set:
 * `deno run --config deno.json -P=dispatch --no-prompt tests/support/probe.ts <scratch-dir> <port>`, where
 * `<port>` is a live HTTP server of the test (so a refused fetch is the permission, not the network).
 */
const [scratch, port] = Deno.args;

async function attempt(f: () => unknown): Promise<string> {
  try {
    await f();
    return "ok";
  } catch (err) {
    // fetch reports a refused permission as a TypeError whose message names it.
    return err instanceof Error ? `${err.name}: ${err.message.split("\n")[0]}` : String(err);
  }
}

const result = {
  // Must be refused.
  net_fetch: await attempt(() => fetch(`http://127.0.0.1:${port}/`).then((r) => r.body?.cancel())),
  net_listen: await attempt(() => Deno.listen({ port: 0 }).close()),
  ffi_dlopen: await attempt(() => Deno.dlopen("libc.so.6", {})),
  write_etc: await attempt(() => Deno.writeTextFile("/etc/dispatch-cc-probe", "x")),
  write_usr: await attempt(() => Deno.mkdir("/usr/local/dispatch-cc-probe")),
  read_proc: await attempt(() => Deno.readTextFile("/proc/self/environ")),
  sys_memory: await attempt(() => Deno.systemMemoryInfo()),
  // Must work: projects and Claude Code state (any folder given at run time), the environment, signals.
  write_scratch: await attempt(() => Deno.writeTextFile(`${scratch}/probe.txt`, "x")),
  read_scratch: await attempt(() => Deno.readTextFile(`${scratch}/probe.txt`)),
  env_all: await attempt(() => Deno.env.toObject()),
  run_child: await attempt(() => new Deno.Command("/bin/sh", { args: ["-c", "exit 0"] }).output()),
  kill_pid: await attempt(() => Deno.kill(Deno.pid, "SIGCONT")),
  sys_uid: await attempt(() => Deno.uid()),
};
console.log(JSON.stringify(result));
