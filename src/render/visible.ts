/**
 * Text for people never carries control characters: a result text, a prompt or a file name can hold
 * escape sequences (set the reader's clipboard with `ESC]52`, clear the screen with `ESC[2J`, hide text
 * with colours), and the specialist's words are shaped by whatever it read. Every text output goes
 * through {@linkcode visibleControls} on its way out (`src/main.ts` for stdout, `src/report.ts` for
 * stderr), whether or not it is a terminal; `--json` output is not touched (JSON escapes them).
 *
 * @module
 */

// C0 controls but tab and newline, DEL, and the C1 controls (U+0080-U+009F).
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]/g;

function show(ch: string): string {
  const code = ch.charCodeAt(0);
  if (code === 0x7f) return "^?";
  // A C1 control is the 7-bit ESC + (code - 0x40): shown as `^[` and that letter, as gh does.
  if (code >= 0x80) return "^[" + String.fromCharCode(code - 0x40);
  return "^" + String.fromCharCode(code + 0x40);
}

/**
 * `text` with every control character other than newline and tab shown in caret notation, as `cat -v`
 * shows them: ESC as `^[`, carriage return as `^M`, DEL as `^?`; a C1 control such as U+009B (CSI) as
 * `^[[`.
 *
 * @example
 * ```ts
 * visibleControls("done\x1b]52;c;aGk=\x07\x1b[2J"); // "done^[]52;c;aGk=^G^[[2J"
 * visibleControls("a\tb\nc"); // "a\tb\nc"
 * ```
 */
export function visibleControls(text: string): string {
  return text.replace(CONTROL, show);
}

const LEFT_BY_JSON = /[\x7f-\x9f]/g;

/**
 * JSON text with DEL and the C1 controls escaped too (`JSON.stringify` escapes only U+0000-U+001F): the
 * same JSON value, with no byte a terminal could act on. Outside strings these characters cannot occur in
 * valid JSON, so only string contents change spelling.
 *
 * @example
 * ```ts
 * escapeJsonControls(JSON.stringify("a\u009b2J")); // '"a\\u009b2J"'
 * ```
 */
export function escapeJsonControls(json: string): string {
  return json.replace(LEFT_BY_JSON, (ch) => "\\u" + ch.charCodeAt(0).toString(16).padStart(4, "0"));
}
