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
  return !isZombie(pid);
}

/** Asks `ps` for the process state (Deno may not read /proc without --allow-all). */
function isZombie(pid: number): boolean {
  try {
    const out = new Deno.Command("ps", {
      args: ["-o", "stat=", "-p", String(pid)],
      stdout: "piped",
      stderr: "null",
    })
      .outputSync();
    return new TextDecoder().decode(out.stdout).trim().startsWith("Z");
  } catch {
    return false; // no ps: trust the signal probe
  }
}
