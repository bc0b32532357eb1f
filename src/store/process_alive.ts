/**
 * Is a process with this pid alive on this machine? A process we may not signal (EPERM) still exists; a
 * zombie (ended, not yet reaped by its new parent) does not count as alive.
 *
 * @example
 * ```ts
 * isAlive(Deno.pid); // true
 * ```
 */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    // Signal 0 probes without signalling; Deno's Signal type has no 0, so it needs a cast.
    Deno.kill(pid, 0 as unknown as Deno.Signal);
  } catch (err) {
    if (!(err instanceof Deno.errors.PermissionDenied)) return false;
  }
  // The state by `ps` (Deno may not read /proc without --allow-all); no ps: trust the signal probe.
  return !(ps("stat", pid)?.startsWith("Z") ?? false);
}

/** Runs `ps -o FIELD= -p PID`; its trimmed output, or null (no such process, or no ps). */
function ps(field: string, pid: number): string | null {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    const out = new Deno.Command("ps", {
      args: ["-o", `${field}=`, "-p", String(pid)],
      stdout: "piped",
      stderr: "null",
      stdin: "null",
    }).outputSync();
    const text = new TextDecoder().decode(out.stdout).trim();
    return out.success && text !== "" ? text : null;
  } catch {
    return null;
  }
}

/**
 * When the process started, as `ps` prints it (`lstart`: to the second), or null when it does not exist
 * or `ps` is missing. With the pid, it names one process: a pid reused later has another start time.
 */
export function processStartTime(pid: number): string | null {
  return ps("lstart", pid);
}

/** The command line of a process (`ps -o args=`), or null. */
export function processCommandLine(pid: number): string | null {
  return ps("args", pid);
}

/**
 * Does this command line look like dispatch-cc, the same installation as this process: from source,
 * `deno run ... <this src/main.ts>`; compiled, this binary (by path or, started from PATH, by name).
 * A forged or stale lock may name any pid: only such a process is ever signalled as "the dispatcher".
 *
 * @example
 * ```ts
 * isDispatchCcCommand("deno run -P=dispatch /opt/dispatch-cc/src/main.ts run --slug x", false,
 *   "file:///opt/dispatch-cc/src/store/process_alive.ts"); // true
 * ```
 */
export function isDispatchCcCommand(
  args: string,
  standalone: boolean = Deno.build.standalone,
  moduleUrl: string = import.meta.url,
  execPath: string = Deno.execPath(),
): boolean {
  const words = args.trim().split(/\s+/);
  if (standalone) {
    const name = (p: string) => p.slice(p.lastIndexOf("/") + 1);
    return words[0] === execPath || (!words[0].includes("/") && words[0] === name(execPath));
  }
  const main = new URL("../main.ts", moduleUrl);
  if (main.protocol !== "file:") return words.includes(main.href);
  return words.includes(decodeURIComponent(main.pathname));
}
