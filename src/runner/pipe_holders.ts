/**
 * Who else holds a child's output pipes. A tool command can escape a run's marker (`env -i setsid cmd`)
 * and keep Claude Code's stdout open through `/proc/<pid>/fd/1`: the pipe then never reaches end of file
 * after Claude Code exits. The pipes are named by their inode (`pipe:[N]` in /proc/<pid>/fd); every
 * process holding one of them, other than this one, is a leftover of the run. Deno may not read /proc
 * without --allow-all, so the scans run in a small shell child (Linux only; elsewhere nothing is found).
 */

import { isAlive } from "../store/process_alive.ts";
import { sleep } from "./sleep.ts";
import type { SweptProcess } from "./sweep.ts";

const SH = {
  stdout: "piped",
  stderr: "null",
  stdin: "null",
  clearEnv: true,
  env: { PATH: "/usr/bin:/bin" },
} as const;

/** The pipe inodes of a live process's fds 1 and 2 (`pipe:[N]` link targets), for {@linkcode pipeHolders}. */
export async function outputPipes(pid: number): Promise<string[]> {
  if (Deno.build.os !== "linux") return [];
  const out = await new Deno.Command("/bin/sh", {
    ...SH,
    args: ["-c", 'readlink "/proc/$1/fd/1" "/proc/$1/fd/2" 2>/dev/null', "pipes", String(pid)],
  }).output().catch(() => null);
  if (!out) return [];
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => /^pipe:\[\d+\]$/.test(l));
}

/**
 * The processes (other than this one) that hold any of `pipes` open, with their command lines.
 *
 * @example
 * ```ts
 * const pipes = await outputPipes(child.pid);
 * // ... the child exited, yet its stdout does not end:
 * for (const p of await pipeHolders(pipes)) console.log(p.pid, p.command);
 * ```
 */
export async function pipeHolders(pipes: string[]): Promise<{ pid: number; command: string }[]> {
  if (Deno.build.os !== "linux" || pipes.length === 0) return [];
  const out = await new Deno.Command("/bin/sh", { ...SH, args: ["-c", HOLDERS, "holders", ...pipes] })
    .output().catch(() => null);
  const seen = new Map<number, string>();
  for (const line of out ? new TextDecoder().decode(out.stdout).split("\n") : []) {
    const [pid, command = ""] = line.split("\t");
    const n = Number(pid);
    if (Number.isInteger(n) && n > 0 && n !== Deno.pid && !seen.has(n)) seen.set(n, command.trim());
  }
  return [...seen].map(([pid, command]) => ({ pid, command }));
}

// Prints "pid<TAB>cmdline" for each process with an fd linked to one of the pipes given as arguments.
// `find -lname` matches every fd without a fork each; the brackets of `pipe:[N]` are escaped for its
// pattern. Without find (or a find lacking -lname), a slower readlink loop.
const HOLDERS = String.raw`pat=""
for p in "$@"; do
  e=$(printf '%s' "$p" | sed 's/[][]/\\&/g')
  if [ -n "$pat" ]; then pat="$pat -o"; fi
  pat="$pat -lname $e"
done
list() {
  if command -v find >/dev/null 2>&1; then
    find /proc/[0-9]*/fd -maxdepth 1 \( $pat \) 2>/dev/null
    return 0
  fi
  for f in /proc/[0-9]*/fd/*; do
    l=$(readlink "$f" 2>/dev/null) || continue
    for p in "$@"; do [ "$l" = "$p" ] && echo "$f"; done
  done
}
list "$@" | while IFS=/ read -r _ _ pid _; do
  printf '%s\t%s\n' "$pid" "$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)"
done`;

/**
 * Ends processes found holding a run's pipes: TERM, up to `graceMs` for them to go, then KILL. Returns
 * how each ended, as the sweep does, for the run's record.
 */
export async function endHolders(
  found: { pid: number; command: string }[],
  graceMs = 1000,
): Promise<SweptProcess[]> {
  const send = (pid: number, sig: Deno.Signal) => {
    try {
      Deno.kill(pid, sig);
    } catch { /* already gone */ }
  };
  for (const p of found) send(p.pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  let left = found.filter((p) => isAlive(p.pid));
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(50);
    left = left.filter((p) => isAlive(p.pid));
  }
  for (const p of left) send(p.pid, "SIGKILL");
  return found.map((p) => ({
    ...p,
    ended_by: left.some((l) => l.pid === p.pid) ? "SIGKILL" as const : "SIGTERM" as const,
  }));
}
