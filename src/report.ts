import { visibleControls } from "./render/visible.ts";

/**
 * Where messages for people go: always stderr, so that stdout holds only the command's output (one JSON
 * document with --json). `warn` is always shown (unless quiet); `progress` only when asked for or when
 * stderr is a terminal. Messages may quote user or specialist text: control characters are shown visibly.
 */
export interface Reporter {
  warn(message: string): void;
  progress(message: string): void;
}

export function stderrReporter(opts: { progress: boolean; quiet?: boolean }): Reporter {
  const enc = new TextEncoder();
  const write = (line: string) => {
    try {
      Deno.stderr.writeSync(enc.encode(visibleControls(line) + "\n"));
    } catch { /* stderr closed: nothing to tell */ }
  };
  return {
    warn: (m) => opts.quiet || write(`dispatch-cc: ${m}`),
    progress: (m) => opts.progress && !opts.quiet && write(m),
  };
}
