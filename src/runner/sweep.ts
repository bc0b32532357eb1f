/**
 * Finds and ends every process of one run, wherever it went: Claude Code's Bash tool starts commands in
 * new sessions, and a command may detach again (`setsid`, `nohup`), so neither the child's process group
 * nor its tree reaches them. Every process of a run inherits the marker variable set in the child's
 * environment; /proc/<pid>/environ shows it. Deno refuses to read /proc without --allow-all, so the scan
 * runs in a small shell child.
 */
import type { EndedProcess } from "../store/run_record.ts";
import { sleep } from "./sleep.ts";

/** A process of the run still alive when it ended, and how it was ended (the record's `ended_processes`). */
export type SweptProcess = EndedProcess;

// Prints "pid<TAB>cmdline" for every process whose environment holds exactly NAME=VALUE (passed as $1).
// One grep over every environ file, not one per process: a fork per process cost ~2 ms each, and the
// scan runs after every dispatch.
const SCAN = `grep -lzxF -- "$1" /proc/[0-9]*/environ 2>/dev/null | while IFS= read -r f; do
  p=\${f#/proc/}; p=\${p%/environ}
  c=$(tr '\\0' ' ' < /proc/$p/cmdline 2>/dev/null)
  printf '%s\\t%s\\n' "$p" "$c"
done`;

/** Lists the live processes whose environment carries `name=value` (Linux; elsewhere an empty list). */
export async function findMarked(name: string, value: string): Promise<{ pid: number; command: string }[]> {
  if (Deno.build.os !== "linux") return [];
  const out = await new Deno.Command("/bin/sh", {
    args: ["-c", SCAN, "sweep", `${name}=${value}`],
    stdout: "piped",
    stderr: "null",
    stdin: "null",
    clearEnv: true,
    env: { PATH: "/usr/bin:/bin" },
  }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter(Boolean).map((line) => {
    const [pid, command = ""] = line.split("\t");
    return { pid: Number(pid), command: command.trim() };
  }).filter((p) => p.pid !== Deno.pid && Number.isInteger(p.pid));
}

function signal(pid: number, sig: Deno.Signal): void {
  try {
    Deno.kill(pid, sig);
  } catch { /* already gone */ }
}

/**
 * Ends every marked process: TERM, a grace period, then KILL for what is left. Returns what it found
 * and how each ended, for the run's record.
 */
export async function sweep(name: string, value: string, graceMs = 1000): Promise<SweptProcess[]> {
  const found = await findMarked(name, value);
  if (found.length === 0) return [];
  for (const p of found) signal(p.pid, "SIGTERM");
  // Liveness by the scan, not by kill(0): an ended process may stay a zombie until init reaps it, and a
  // zombie has an empty environment, so it no longer matches.
  const deadline = Date.now() + graceMs;
  let left = found;
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(100);
    left = await findMarked(name, value);
  }
  const swept: SweptProcess[] = found.map((p) => ({
    ...p,
    ended_by: left.some((l) => l.pid === p.pid) ? "SIGKILL" as const : "SIGTERM" as const,
  }));
  for (const p of left) {
    signal(p.pid, "SIGKILL");
    if (!swept.some((s) => s.pid === p.pid)) swept.push({ ...p, ended_by: "SIGKILL" });
  }
  return swept;
}
