/**
 * Is a process with this pid alive on this machine? A process we may not signal (EPERM) still exists.
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
    return true;
  } catch (err) {
    return err instanceof Deno.errors.PermissionDenied;
  }
}
