// Helpers for Warden's browser tests: start a real `warden serve` on a fresh
// data directory and a free port, make users and keys with the CLI, drive
// Debian's Chromium through playwright-core. Every test file uses these, so
// they stay small and say what they do.
//
//   const w = await startWarden({ users: [{ username: "alice", password: PASSWORD, role: "admin" }] });
//   const browser = await newBrowser();
//   const page = await browser.newPage();
//   await signIn(page, w.url, "alice", PASSWORD);
//   const key = await w.createKey("app");
//   await w.postEvents(key, [event({ type: "follow", actor: "u1" })]);
//   ...
//   await browser.close(); await w.stop();

import { spawn, execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHmac, randomBytes } from "node:crypto";
import { chromium } from "playwright-core";

// PASSWORD is long enough for warden's minimum (12 characters).
export const PASSWORD = "correct horse battery staple";

export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

// The flags keep Chromium from phoning home or waiting on a GPU: the tests
// must pass on a machine with no display and no network but loopback.
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

function wardenBin() {
  const bin = process.env.WARDEN_BIN;
  if (!bin) {
    throw new Error("set WARDEN_BIN to a built warden binary (go build -o /tmp/warden ./cmd/warden), or use e2e/run.sh");
  }
  return bin;
}

// run runs warden with args (and stdin), and resolves to its stdout.
export function run(args, { input, env } = {}) {
  return new Promise((resolve, reject) => {
    const child = execFile(wardenBin(), args, { env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`warden ${args.join(" ")}: ${err.message}\n${stderr}`));
      } else {
        resolve(stdout);
      }
    });
    if (input !== undefined) {
      child.stdin.end(input);
    }
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitHealthy(url, child, logs, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`warden serve exited with ${child.exitCode}:\n${logs.join("")}`);
    }
    try {
      const res = await fetch(url + "/healthz");
      if (res.ok) {
        return;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`warden serve was not healthy after ${ms} ms:\n${logs.join("")}`);
}

// startWarden runs `warden serve` on a fresh temporary data directory and a
// free loopback port, after creating the given console users; args are more
// serve flags, env more environment (WARDEN_* settings). It resolves once
// /healthz answers 200.
export async function startWarden({ users = [], args = [], env = {} } = {}) {
  const dataDir = await mkdtemp(join(tmpdir(), "warden-e2e-"));
  const createUser = async ({ username, password = PASSWORD, role = "admin" }) => {
    await run(["users", "create", "--username", username, "--role", role, "--password-stdin", "--data", dataDir], { input: password + "\n" });
  };
  for (const u of users) {
    await createUser(u);
  }
  // The port is free when chosen, and another process could take it before
  // warden listens; on loopback in a test that race is not worth more code.
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logs = [];
  const child = spawn(wardenBin(), ["serve", "--addr", `127.0.0.1:${port}`, "--admin-addr", "", "--data", dataDir, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  child.stdout.on("data", (b) => logs.push(b.toString()));
  child.stderr.on("data", (b) => logs.push(b.toString()));
  await waitHealthy(url, child, logs, 30_000);

  return {
    url,
    dataDir,
    logs,
    createUser,
    // createKey makes an API key with role on the running server's data.
    async createKey(role) {
      return (await run(["keys", "create", "--role", role, "--data", dataDir])).trim();
    },
    // api calls the JSON API with a key and resolves to {status, body}.
    async api(method, path, key, body) {
      const res = await fetch(url + path, {
        method,
        headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      let json;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, body: json ?? text };
    },
    // postEvents sends a batch and resolves to the verdicts; it throws on
    // anything but 200.
    async postEvents(key, events) {
      const { status, body } = await this.api("POST", "/v1/events", key, { events });
      if (status !== 200) {
        throw new Error(`POST /v1/events: ${status} ${JSON.stringify(body)}`);
      }
      return body.verdicts;
    },
    // stop ends warden (SIGTERM: it drains and exits) and removes its data.
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

let seq = 0;

// event returns a valid version 1 event with a unique id, happening now;
// fields override the defaults.
export function event(fields = {}) {
  seq++;
  return {
    id: `e2e-${randomBytes(4).toString("hex")}-${seq}`,
    type: "follow",
    time: new Date().toISOString(),
    actor: `user${seq}`,
    target: "someone",
    target_kind: "account",
    ...fields,
  };
}

// newBrowser launches headless Debian Chromium.
export function newBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

// watchPage records what a page should never produce: console errors
// (Content-Security-Policy violations among them) and uncaught exceptions.
// Call it before the first goto; read .errors at the end.
export function watchPage(page) {
  const errors = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") {
      errors.push(`console: ${msg.text()}`);
    }
  });
  page.on("pageerror", (err) => errors.push(`page error: ${err.message}`));
  return { errors };
}

// signIn signs in through the sign-in form and waits for the page it leads
// to (the dashboard unless the sign-in page was reached with ?next=).
export async function signIn(page, baseURL, username, password = PASSWORD) {
  await page.goto(baseURL + "/signin");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  const code = nextCode(baseURL, username);
  if (code) {
    await page.getByLabel("Two-factor code").fill(code);
  }
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith("/signin")), page.getByRole("button", { name: "Sign in" }).click()]);
  if (new URL(page.url()).pathname === "/account/2fa") {
    await enrolTwoFactor(page, baseURL, username);
  }
}

// recoveryCodes holds, per console and user, the recovery codes shown when
// the test turned on the user's second factor: each later sign-in spends
// one (a TOTP code cannot be used twice in its 30 s step, and tests sign in
// more often than that).
const recoveryCodes = new Map();

// nextCode returns a second-factor code for username on the console at
// baseURL, or "" when the test has not turned it on.
export function nextCode(baseURL, username) {
  const codes = recoveryCodes.get(baseURL + " " + username);
  return codes && codes.length ? codes.shift() : "";
}

// enrolTwoFactor turns on the signed-in user's second factor as a person
// does: set it up, read the key under the QR code into an "authenticator"
// (totp below), type its code, keep the recovery codes.
export async function enrolTwoFactor(page, baseURL, username) {
  await page.locator("#twofa-required").waitFor();
  await Promise.all([page.waitForURL(baseURL + "/account/2fa"), page.getByRole("button", { name: "Set it up" }).click()]);
  await page.locator("#totp-qr").waitFor();
  const secret = (await page.locator("#totp-secret").textContent()).trim();
  await page.getByLabel("The 6 digits the app shows").fill(totp(secret));
  await page.getByRole("button", { name: "Turn on" }).click();
  const codes = await page.locator("#recovery-codes li").allTextContents();
  if (codes.length !== 10) {
    throw new Error(`enrolment showed ${codes.length} recovery codes`);
  }
  recoveryCodes.set(baseURL + " " + username, codes);
  await page.goto(baseURL + "/");
}

// totp is RFC 6238's code (SHA-1, 6 digits, 30 s) of a base32 secret at
// time ms, what an authenticator app shows.
export function totp(secret, ms = Date.now()) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const ch of secret.replace(/=+$/, "").toUpperCase()) {
    bits += alphabet.indexOf(ch).toString(2).padStart(5, "0");
  }
  const key = Buffer.alloc(Math.floor(bits.length / 8));
  for (let i = 0; i < key.length; i++) {
    key[i] = parseInt(bits.slice(i * 8, i * 8 + 8), 2);
  }
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(ms / 30000)));
  const mac = createHmac("sha1", key).update(counter).digest();
  const off = mac[mac.length - 1] & 0xf;
  const n = (mac.readUInt32BE(off) & 0x7fffffff) % 1000000;
  return String(n).padStart(6, "0");
}
