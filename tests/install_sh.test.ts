/**
 * install.sh against a fake release served on 127.0.0.1: the asset for each OS/CPU, the checksum check,
 * and nothing half-installed when anything fails. It runs under `sh` (dash on Debian: POSIX only).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO } from "./support/cli.ts";
import { tempDir } from "./support/temp.ts";

const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
];
const assetOf = (target: string) => `dispatch-cc-${target}${target.includes("windows") ? ".exe" : ""}`;

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A fake release: each asset a tiny script that names its target; SHA256SUMS as sha256sum writes it. */
async function fakeRelease(opts: { corrupt?: string; missing?: string } = {}) {
  const files = new Map<string, string>();
  for (const t of TARGETS) {
    files.set(
      assetOf(t),
      `#!/bin/sh\necho "dispatch-cc 9.9.9 (commit 0123456789ab, binary, deno 2.9.6, ${t})"\n`,
    );
  }
  const sums: string[] = [];
  for (const [name, body] of files) sums.push(`${await sha256(body)}  ${name}`);
  files.set("SHA256SUMS", sums.join("\n") + "\n");
  // A changed or damaged asset: served with other bytes than the checksum says.
  if (opts.corrupt) files.set(opts.corrupt, files.get(opts.corrupt)! + "echo planted\n");
  if (opts.missing) files.delete(opts.missing);
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const name = new URL(req.url).pathname.replace(/^\/download\//, "");
    requests.push(name);
    const body = files.get(name);
    return body === undefined ? new Response("not found", { status: 404 }) : new Response(body);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/download`,
    files,
    requests,
    close: () => server.shutdown(),
  };
}

async function install(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await new Deno.Command("sh", {
    args: [join(REPO, "install.sh"), ...args],
    env: { PATH: "/usr/bin:/bin", ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}

const list = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test("install.sh picks the asset for each OS and CPU, checks it, installs it, and says what to do next", async () => {
  const rel = await fakeRelease();
  const t = await tempDir();
  try {
    const cases: [string, string, string][] = [
      ["Linux", "x86_64", "x86_64-unknown-linux-gnu"],
      ["Linux", "aarch64", "aarch64-unknown-linux-gnu"],
      ["Linux", "arm64", "aarch64-unknown-linux-gnu"],
      ["Darwin", "x86_64", "x86_64-apple-darwin"],
      ["Darwin", "arm64", "aarch64-apple-darwin"],
      ["MINGW64_NT-10.0", "x86_64", "x86_64-pc-windows-msvc"],
    ];
    for (const [os, cpu, target] of cases) {
      const dir = join(t.path, `${os}-${cpu}`, "bin");
      const tmp = join(t.path, `${os}-${cpu}`, "tmp");
      await Deno.mkdir(tmp, { recursive: true });
      rel.requests.length = 0;
      const r = await install(["--dir", dir], {
        HOME: t.path,
        TMPDIR: tmp,
        DISPATCH_CC_BASE_URL: rel.url,
        DISPATCH_CC_UNAME_S: os,
        DISPATCH_CC_UNAME_M: cpu,
      });
      assert.equal(r.code, 0, `${os} ${cpu}: ${r.stderr}`);
      const name = target.includes("windows") ? "dispatch-cc.exe" : "dispatch-cc";
      assert.deepEqual(list(dir), [name], `${os} ${cpu}: only the binary in the folder`);
      assert.equal(await Deno.readTextFile(join(dir, name)), rel.files.get(assetOf(target)));
      assert.equal((await Deno.stat(join(dir, name))).mode! & 0o777, 0o755);
      assert.deepEqual(rel.requests, ["SHA256SUMS", assetOf(target)]);
      assert.match(
        r.stdout,
        new RegExp(`installed ${dir}/${name.replace(".", "\\.")}: dispatch-cc 9\\.9\\.9`),
      );
      assert.match(r.stdout, /is not on your PATH/);
      assert.match(r.stdout, /Next: run `.*dispatch-cc(\.exe)? doctor`/);
      assert.deepEqual(list(tmp), [], `${os} ${cpu}: the temporary folder is removed`);
    }
  } finally {
    await rel.close();
    await t.cleanup();
  }
});

Deno.test("install.sh defaults to ~/.local/bin, and names `dispatch-cc doctor` as the next step when it is on PATH", async () => {
  const rel = await fakeRelease();
  const t = await tempDir();
  try {
    const bin = join(t.path, ".local", "bin");
    const r = await install([], {
      HOME: t.path,
      PATH: `/usr/bin:/bin:${bin}`,
      DISPATCH_CC_BASE_URL: rel.url,
      DISPATCH_CC_UNAME_S: "Linux",
      DISPATCH_CC_UNAME_M: "x86_64",
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(list(bin), ["dispatch-cc"]);
    assert.doesNotMatch(r.stdout, /not on your PATH/);
    assert.match(r.stdout, /Next: run `dispatch-cc doctor`/);
  } finally {
    await rel.close();
    await t.cleanup();
  }
});

Deno.test("install.sh refuses an asset whose checksum does not match; the installed one stays as it was", async () => {
  const rel = await fakeRelease({ corrupt: assetOf("x86_64-unknown-linux-gnu") });
  const t = await tempDir();
  try {
    const dir = join(t.path, "bin");
    const tmp = join(t.path, "tmp");
    await Deno.mkdir(dir);
    await Deno.mkdir(tmp);
    await Deno.writeTextFile(join(dir, "dispatch-cc"), "the old one\n");
    const r = await install(["--dir", dir], {
      HOME: t.path,
      TMPDIR: tmp,
      DISPATCH_CC_BASE_URL: rel.url,
      DISPATCH_CC_UNAME_S: "Linux",
      DISPATCH_CC_UNAME_M: "x86_64",
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /checksum mismatch for dispatch-cc-x86_64-unknown-linux-gnu .*nothing was installed/,
    );
    assert.deepEqual(list(dir), ["dispatch-cc"]);
    assert.equal(await Deno.readTextFile(join(dir, "dispatch-cc")), "the old one\n");
    assert.deepEqual(list(tmp), []);
    assert.doesNotMatch(r.stdout, /installed/);
  } finally {
    await rel.close();
    await t.cleanup();
  }
});

Deno.test("install.sh installs nothing when the asset or its checksum line is missing, or the machine is unsupported", async () => {
  const t = await tempDir();
  try {
    const base = { HOME: t.path, DISPATCH_CC_UNAME_S: "Linux", DISPATCH_CC_UNAME_M: "x86_64" };
    // The asset is not on the server (404).
    const gone = await fakeRelease({ missing: assetOf("x86_64-unknown-linux-gnu") });
    try {
      const dir = join(t.path, "a");
      const r = await install(["--dir", dir], { ...base, DISPATCH_CC_BASE_URL: gone.url });
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /could not download .*dispatch-cc-x86_64-unknown-linux-gnu; nothing was installed/,
      );
      assert.equal(
        await Deno.stat(dir).then(() => true, () => false),
        false,
        "the folder is not even created",
      );
    } finally {
      await gone.close();
    }
    // SHA256SUMS has no line for it.
    const rel = await fakeRelease();
    try {
      rel.files.set("SHA256SUMS", "0000  dispatch-cc-something-else\n");
      const dir = join(t.path, "b");
      const r = await install(["--dir", dir], { ...base, DISPATCH_CC_BASE_URL: rel.url });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /SHA256SUMS names no dispatch-cc-x86_64-unknown-linux-gnu/);
      assert.equal(await Deno.stat(dir).then(() => true, () => false), false);
      // An OS or CPU without a binary: said at once, nothing fetched.
      rel.requests.length = 0;
      const odd = await install(["--dir", dir], {
        ...base,
        DISPATCH_CC_UNAME_M: "riscv64",
        DISPATCH_CC_BASE_URL: rel.url,
      });
      assert.equal(odd.code, 1);
      assert.match(odd.stderr, /no dispatch-cc binary for Linux riscv64/);
      assert.deepEqual(rel.requests, []);
      const bsd = await install(["--dir", dir], { ...base, DISPATCH_CC_UNAME_S: "FreeBSD" });
      assert.equal(bsd.code, 1);
      assert.match(bsd.stderr, /no dispatch-cc binary for FreeBSD x86_64/);
      // No repository known and no base URL: it says how to name one.
      const norepo = await install(["--dir", dir], base);
      assert.equal(norepo.code, 1);
      assert.match(norepo.stderr, /which repository\? give --repo OWNER\/REPO/);
      const bad = await install(["--frobnicate"], base);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /unknown option --frobnicate/);
    } finally {
      await rel.close();
    }
  } finally {
    await t.cleanup();
  }
});

Deno.test("install.sh refuses a binary that does not run here, and keeps the installed one", async () => {
  const rel = await fakeRelease();
  const t = await tempDir();
  try {
    const name = assetOf("x86_64-unknown-linux-gnu");
    const broken = "#!/bin/sh\necho 'cannot execute: wrong C library' >&2\nexit 126\n";
    rel.files.set(name, broken);
    rel.files.set("SHA256SUMS", `${await sha256(broken)}  ${name}\n`);
    const dir = join(t.path, "bin");
    await Deno.mkdir(dir);
    await Deno.writeTextFile(join(dir, "dispatch-cc"), "the old one\n");
    const r = await install(["--dir", dir], {
      HOME: t.path,
      DISPATCH_CC_BASE_URL: rel.url,
      DISPATCH_CC_UNAME_S: "Linux",
      DISPATCH_CC_UNAME_M: "x86_64",
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /does not run on this machine: cannot execute: wrong C library/);
    assert.deepEqual(list(dir), ["dispatch-cc"]);
    assert.equal(await Deno.readTextFile(join(dir, "dispatch-cc")), "the old one\n");
  } finally {
    await rel.close();
    await t.cleanup();
  }
});

Deno.test("install.sh takes the repository and tag to build GitHub's download address", async () => {
  // The download fails, and the message shows the address it used.
  const t = await tempDir();
  // A port nothing listens on (taken and released): the proxy refuses at once and the test stays offline.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  try {
    const r = await install([
      "--dir",
      join(t.path, "bin"),
      "--repo",
      "someone/dispatch-cc",
      "--version",
      "v1.2.3",
    ], {
      HOME: t.path,
      DISPATCH_CC_UNAME_S: "Linux",
      DISPATCH_CC_UNAME_M: "x86_64",
      https_proxy: `http://127.0.0.1:${port}`,
      HTTPS_PROXY: `http://127.0.0.1:${port}`,
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /https:\/\/github\.com\/someone\/dispatch-cc\/releases\/download\/v1\.2\.3\/SHA256SUMS/,
    );
    assert.equal(await Deno.stat(join(t.path, "bin")).then(() => true, () => false), false);
  } finally {
    await t.cleanup();
  }
});

Deno.test("install.sh passes shellcheck (POSIX sh)", {
  ignore: !await new Deno.Command("sh", { args: ["-c", "command -v shellcheck"], stdout: "null" }).output()
    .then(
      (r) => r.success,
      () => false,
    ),
}, async () => {
  const r = await new Deno.Command("shellcheck", {
    args: ["-s", "sh", join(REPO, "install.sh")],
    stdout: "piped",
  })
    .output();
  assert.equal(r.code, 0, new TextDecoder().decode(r.stdout));
});
