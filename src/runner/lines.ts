/**
 * Splits a byte stream into lines as they arrive, without holding more than the current line: a run's
 * transcript can be hundreds of megabytes and must not grow the dispatcher's memory.
 *
 * @example
 * ```ts
 * for await (const line of lines(child.stdout)) console.log(line);
 * ```
 */
export async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of stream) {
    pending += decoder.decode(chunk, { stream: true });
    let start = 0;
    let nl: number;
    while ((nl = pending.indexOf("\n", start)) !== -1) {
      yield pending.slice(start, nl);
      start = nl + 1;
    }
    pending = pending.slice(start);
  }
  pending += decoder.decode();
  if (pending !== "") yield pending;
}
