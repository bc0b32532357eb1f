/**
 * Bounded concurrency: `fn` over `items`, at most `limit` calls in flight, results in the items' order.
 *
 * @example
 * ```ts
 * const sizes = await mapLimit(paths, 8, async (p) => (await Deno.stat(p)).size);
 * ```
 *
 * @module
 */

/** Runs `fn` over `items` with at most `limit` calls in flight (thousands at once swamp the I/O pool). */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}
