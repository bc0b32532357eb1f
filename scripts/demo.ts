/**
 * `deno task demo`: the main job end to end, offline. Installs the pinned Claude Code CLI (npm) on first
 * use, starts the scripted Messages endpoint of the tests on 127.0.0.1, and drives the real CLI through
 * dispatch-cc itself: run (Claude Code writes and tests a small program), resume (it adds to it), review
 * (read-only), then status and list. Prints each command and its output; leaves the project to look at.
 */
import { join } from "node:path";
import { claudeEnv, ensureClaudeCli, tempHome } from "../tests/support/claude_cli.ts";
import { startMockApi } from "../tests/support/mock_api.ts";
import { cliCommand, DENO_DIR } from "../tests/support/cli.ts";
import { shellQuote } from "../src/render/shell_quote.ts";

const bin = await ensureClaudeCli();
const api = await startMockApi();
const home = await tempHome();
const projects = await Deno.makeTempDir({ prefix: "dispatch-demo-" });

api.scenario("build", [
  {
    text: "I'll write the module and its test.",
    toolUse: { name: "Write", input: { file_path: "fizzbuzz.py", content: FIZZBUZZ() } },
  },
  {
    toolUse: { name: "Bash", input: { command: "python3 fizzbuzz.py 15 | tail -1", description: "Run it" } },
  },
  { text: "Created fizzbuzz.py; `python3 fizzbuzz.py 15` ends with FizzBuzz." },
]);
api.scenario("extend", [
  {
    toolUse: {
      name: "Edit",
      input: { file_path: "fizzbuzz.py", old_string: "def main", new_string: "# Counts from 1.\ndef main" },
    },
  },
  { text: "Added a comment above main()." },
]);
api.scenario("review", [
  { toolUse: { name: "Write", input: { file_path: "REVIEW.md", content: "notes" } } },
  { text: "Review: small and correct. One finding: no input validation. Verdict: FIX FIRST." },
]);

const env = {
  ...claudeEnv({ baseUrl: api.url, home }),
  // Deno's own cache: under the temp HOME, Deno would look for its packages anew at every step (about a
  // minute each where the network is slow or closed).
  DENO_DIR,
  DISPATCH_PROJECTS_DIR: projects,
  DISPATCH_CC_BIN: bin,
  NO_COLOR: "1",
};
const { cmd, args } = cliCommand();

async function step(title: string, argv: string[]) {
  console.log(
    `\n$ dispatch-cc ${argv.map(shellQuote).join(" ")}   # ${title}`,
  );
  const r = await new Deno.Command(cmd, {
    args: [...args, ...argv],
    env,
    clearEnv: true,
    stdout: "inherit",
    stderr: "inherit",
  })
    .output();
  console.log(`(exit ${r.code})`);
  return r.code;
}

try {
  await step("a new task, in a new project", [
    "run",
    "--slug",
    "fizzbuzz",
    "--desc",
    "FizzBuzz in Python",
    "--prompt",
    "Write fizzbuzz.py that prints FizzBuzz up to N, and run it. [[mock:build]]",
    "--allowed-tools",
    "Bash(python3:*)",
  ]);
  await step("feedback on the same session", [
    "resume",
    "--slug",
    "fizzbuzz",
    "--prompt",
    "Document main(). [[mock:extend]]",
  ]);
  await step("an independent, read-only review (its write is refused: BLOCKED)", [
    "review",
    "--slug",
    "fizzbuzz",
    "--prompt",
    "Review the project. [[mock:review]]",
  ]);
  await step("where things stand", ["status", "--slug", "fizzbuzz"]);
  await step("every project", ["list"]);
  console.log(`\nThe project is in ${join(projects, "fizzbuzz")} (its records in .dispatch-logs/).`);
} finally {
  await api.close();
  await Deno.remove(home, { recursive: true }).catch(() => {});
}

function FIZZBUZZ() {
  return `import sys


def fizzbuzz(n):
    return "FizzBuzz" if n % 15 == 0 else "Fizz" if n % 3 == 0 else "Buzz" if n % 5 == 0 else str(n)


def main():
    for i in range(1, int(sys.argv[1]) + 1):
        print(fizzbuzz(i))


if __name__ == "__main__":
    main()
`;
}
