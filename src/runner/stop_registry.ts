/**
 * The projects this process holds a lock for, each with its own stop. `cancel --slug S` leaves a cancel
 * request naming S's lock (by token) before it sends SIGTERM to the lock's holder; a process running
 * several projects (a foreground `apply --parallel`) then stops only S. A SIGTERM without such a request
 * (a shutdown) stops everything, as before.
 *
 * @module
 */
import { cancelRequested } from "../store/cancel.ts";

interface Held {
  logsDir: string;
  token: string;
  stop: () => void;
}

const held = new Set<Held>();

/**
 * Registers a held project; returns the function that unregisters it (call it when the lock is released).
 *
 * @example
 * ```ts
 * const done = registerHeld({ logsDir, token: lock.info.token, stop: () => stop.abort("cancelled") });
 * try { await work(stop.signal); } finally { done(); }
 * ```
 */
export function registerHeld(entry: Held): () => void {
  held.add(entry);
  return () => held.delete(entry);
}

/**
 * On SIGTERM: stops the held projects a cancel request names and returns true when there was one; false
 * (nothing stopped) when no held project was named, so that the caller stops everything.
 */
export function stopNamedByCancel(): boolean {
  const named = [...held].filter((h) => cancelRequested(h.logsDir, h.token));
  // Only when this process holds more than one project does a per-project stop differ from stopping all.
  if (named.length === 0 || named.length === held.size) return false;
  for (const h of named) {
    held.delete(h);
    h.stop();
  }
  return true;
}
