/** A fresh temp directory, removed by the returned cleanup. */
export async function tempDir(
  prefix = "dispatch-test-",
): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await Deno.makeTempDir({ prefix });
  return { path, cleanup: () => Deno.remove(path, { recursive: true }).catch(() => {}) };
}
