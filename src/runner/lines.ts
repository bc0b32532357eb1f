/**
 * Splitting a byte stream into lines as it arrives, in time linear in its size whatever its line lengths:
 * a run's transcript can hold a 100 MB line (a tool result) and must not grow the reader's time or memory
 * beyond that one line. Each chunk is searched for newlines once; the pieces of a line still open are kept
 * as they came and joined once, when its newline arrives.
 *
 * @module
 */

/**
 * Feeds chunks of bytes, gets whole lines back (without the newline). `end()` gives the last line when
 * the stream did not end with a newline.
 *
 * @example
 * ```ts
 * const split = new LineSplitter();
 * split.push(new TextEncoder().encode("a\nb"), (l) => console.log(l)); // "a"
 * split.end((l) => console.log(l)); // "b"
 * ```
 */
export class LineSplitter {
  #decoder = new TextDecoder();
  #parts: string[] = [];

  /** Splits one chunk; calls `onLine` for each line it completes. */
  push(chunk: Uint8Array, onLine: (line: string) => void): void {
    let start = 0;
    let nl: number;
    while ((nl = chunk.indexOf(10, start)) !== -1) {
      this.#parts.push(this.#decoder.decode(chunk.subarray(start, nl)));
      onLine(this.#take());
      start = nl + 1;
    }
    if (start < chunk.length) this.#parts.push(this.#decoder.decode(chunk.subarray(start), { stream: true }));
  }

  /** Ends the stream: the unfinished last line, if any. */
  end(onLine: (line: string) => void): void {
    this.#parts.push(this.#decoder.decode());
    const last = this.#take();
    if (last !== "") onLine(last);
  }

  /** Forgets a partly read line (the file it came from was truncated or replaced). */
  reset(): void {
    this.#parts = [];
    this.#decoder = new TextDecoder();
  }

  /** Bytes are pending in an unfinished line. */
  get pending(): boolean {
    return this.#parts.some((p) => p !== "");
  }

  #take(): string {
    const line = this.#parts.length === 1 ? this.#parts[0] : this.#parts.join("");
    this.#parts = [];
    return line;
  }
}

/**
 * The lines of a byte stream, as they arrive (see {@linkcode LineSplitter}).
 *
 * @example
 * ```ts
 * for await (const line of lines(child.stdout)) console.log(line);
 * ```
 */
export async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const split = new LineSplitter();
  let ready: string[] = [];
  const collect = (l: string) => ready.push(l);
  for await (const chunk of stream) {
    split.push(chunk, collect);
    if (ready.length > 0) {
      const out = ready;
      ready = [];
      yield* out;
    }
  }
  split.end(collect);
  yield* ready;
}
