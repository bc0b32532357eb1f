/** Small formatters shared by the human renderers. */

export function seconds(ms: number | null | undefined): string {
  return typeof ms === "number" ? `${(ms / 1000).toFixed(1)}s` : "-";
}

export function dollars(usd: number | null | undefined): string {
  return typeof usd === "number" ? `$${usd.toFixed(4)}` : "-";
}

/** One-line rendering of a tool input for denial lists. */
export function inputSummary(input: unknown): string {
  if (input && typeof input === "object") {
    const i = input as Record<string, unknown>;
    const main = i.file_path ?? i.command ?? i.path ?? i.pattern ?? i.url;
    if (main !== undefined) return String(main);
  }
  const s = JSON.stringify(input) ?? "";
  return s.length > 120 ? s.slice(0, 117) + "..." : s;
}

export function indent(text: string, by = "  "): string {
  return text.split("\n").map((l) => (l ? by + l : l)).join("\n");
}
