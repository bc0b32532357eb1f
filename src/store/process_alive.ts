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

/** Runs a small shell script with `pid` as $1; its trimmed output, or null (failed, or nothing printed). */
function shell(script: string, pid: number): string | null {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    const out = new Deno.Command("/bin/sh", {
      args: ["-c", script, "probe", String(pid)],
      stdout: "piped",
      stderr: "null",
      stdin: "null",
      clearEnv: true,
      env: { PATH: "/usr/bin:/bin", LC_ALL: "C", TZ: "UTC" },
    }).outputSync();
    const text = new TextDecoder().decode(out.stdout).trim();
    return out.success && text !== "" ? text : null;
  } catch {
    return null;
  }
}

/**
 * When the process started, in a form that names one process whatever the caller's time zone or locale:
 * on Linux `ticks:N`, field 22 of /proc/<pid>/stat (clock ticks since boot; read by a child, as Deno may
 * not read /proc); elsewhere `ps -o lstart` in UTC. Null when the process does not exist. With the pid,
 * it names one process: a pid reused later has another start time.
 *
 * @example
 * ```ts
 * processStartTime(Deno.pid); // "ticks:183467"
 * ```
 */
export function processStartTime(pid: number): string | null {
  if (Deno.build.os === "linux") {
    const stat = shell('cat "/proc/$1/stat"', pid);
    // The command name (field 2) is in parentheses and may hold spaces or ")": fields count from the last ")".
    const fields = stat?.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = fields?.[22 - 3];
    if (ticks && /^\d+$/.test(ticks)) return `ticks:${ticks}`;
  }
  return shell('ps -o lstart= -p "$1"', pid);
}

/**
 * The start time of `pid` in the form of `recorded` (a lock written by an older version holds `ps -o
 * lstart`, in its caller's time zone), to compare the two; null when the process does not exist.
 */
export function processStartTimeLike(pid: number, recorded: string): string | null {
  return recorded.startsWith("ticks:") ? processStartTime(pid) : ps("lstart", pid);
}

/** The working folder of a live process (Linux), to resolve a relative path in its command line. */
export function processCwd(pid: number): string | null {
  if (Deno.build.os !== "linux") return null;
  return shell('readlink "/proc/$1/cwd"', pid);
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
  cwd: string | null = null,
): boolean {
  const words = args.trim().split(/\s+/);
  const real = (p: string) => {
    try {
      return Deno.realPathSync(p);
    } catch {
      return p;
    }
  };
  // A relative path in the command line (`deno task` runs `src/main.ts`) names a file in the process's
  // own working folder; symlinks resolved on both sides.
  const same = (word: string, target: string) =>
    word === target ||
    (cwd !== null && word !== "" && (word.includes("/") || word.endsWith(".ts")) &&
      real(word.startsWith("/") ? word : `${cwd}/${word}`) === real(target));
  if (standalone) {
    const name = (p: string) => p.slice(p.lastIndexOf("/") + 1);
    return same(words[0], execPath) || (!words[0].includes("/") && words[0] === name(execPath));
  }
  const main = new URL("../main.ts", moduleUrl);
  if (main.protocol !== "file:") return words.includes(main.href);
  const path = decodeURIComponent(main.pathname);
  return words.some((w) =>
    same(w, path) || (w.startsWith("file://") && same(decodeURIComponent(w.slice(7)), path))
  );
}
