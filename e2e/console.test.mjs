// The console in a real browser: sign-in, the live dashboard fed by events
// posted to the API, the CSRF check, sign-out.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWarden, newBrowser, signIn, watchPage, event, nextCode, enrolTwoFactor, PASSWORD } from "./lib.mjs";

let w;
let browser;

before(async () => {
  w = await startWarden({ users: [{ username: "alice", role: "admin" }] });
  browser = await newBrowser();
});

after(async () => {
  await browser?.close();
  await w?.stop();
});

test("a wrong password is refused with a message, and no session", async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(w.url + "/signin");
  await page.getByLabel("Username").fill("alice");
  await page.getByLabel("Password").fill("not the password at all");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").filter({ hasText: "Wrong username or password." }).waitFor();
  assert.deepEqual(await ctx.cookies(), []);
  await ctx.close();
});

test("signed in, the dashboard shows posted events live, without a reload", async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const watch = watchPage(page);

  // Not signed in: the console sends the browser to sign in, and back.
  await page.goto(w.url + "/?show=all");
  assert.equal(new URL(page.url()).pathname, "/signin");
  await page.getByLabel("Username").fill("alice");
  await page.getByLabel("Password").fill(PASSWORD);
  // alice is an admin without a second factor: the console asks her to turn
  // it on first (QR code, key, a code from the app, recovery codes).
  await Promise.all([page.waitForURL(w.url + "/account/2fa"), page.getByRole("button", { name: "Sign in" }).click()]);
  await enrolTwoFactor(page, w.url, "alice");
  await page.goto(w.url + "/?show=all");
  assert.equal(await page.title(), "Dashboard · Warden");
  await page.getByRole("heading", { name: "Live verdicts" }).waitFor();
  const nav = page.getByRole("navigation", { name: "Console" });
  await nav.getByRole("link", { name: "Dashboard" }).and(page.locator('[aria-current="page"]')).waitFor();

  const [session] = (await ctx.cookies()).filter((c) => c.name === "warden_session");
  assert.ok(session, "no session cookie");
  assert.equal(session.httpOnly, true);
  assert.ok(["Lax", "Strict"].includes(session.sameSite), `SameSite=${session.sameSite}`);

  // A marker on the window survives only if the page is never reloaded.
  await page.evaluate(() => {
    window.wardenE2EMarker = "still here";
  });
  const key = await w.createKey("app");
  const evs = [
    event({ type: "signup", actor: "newcomer1" }),
    event({ type: "follow", actor: "newcomer1", target: "celebrity" }),
    event({ type: "comment", actor: "newcomer2", target: "post9", target_kind: "content", text: "hello" }),
  ];
  const verdicts = await w.postEvents(key, evs);
  assert.equal(verdicts.length, 3);

  for (const ev of evs) {
    const row = page.locator(`tr[data-event-id="${ev.id}"]`);
    await row.waitFor({ timeout: 15_000 });
    const text = await row.innerText();
    assert.match(text, new RegExp(ev.type));
    assert.match(text, new RegExp(ev.actor));
  }
  assert.equal(await page.evaluate(() => window.wardenE2EMarker), "still here", "the page was reloaded");
  const events = Number(await page.locator("#stat-events").innerText());
  assert.ok(events >= 3, `events counter shows ${events}`);

  // The rules page is one click away and says something either way.
  await nav.getByRole("link", { name: "Rules" }).click();
  await page.getByRole("heading", { name: "Rules", level: 1 }).waitFor();

  assert.deepEqual(watch.errors, [], "the pages logged errors (a CSP violation?)");
  await ctx.close();
});

test("a state-changing request without the CSRF token is refused", async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await signIn(page, w.url, "alice");

  // From the console's own page but without the token (as a script
  // injected elsewhere on the origin would do without reading the page).
  const status = await page.evaluate(async () => {
    const res = await fetch("/signout", { method: "POST", body: new URLSearchParams({ csrf: "" }) });
    return res.status;
  });
  assert.equal(status, 403);

  // A form posted from another origin carrying the right token: refused by
  // the origin check. The token is read here as if it had leaked.
  const token = await page.locator('meta[name="csrf-token"]').getAttribute("content");
  assert.ok(token);
  const forged = await page.request.post(w.url + "/signout", {
    form: { csrf: token },
    headers: { Origin: "http://evil.example", "Sec-Fetch-Site": "cross-site" },
    maxRedirects: 0,
  });
  assert.equal(forged.status(), 403);

  // Still signed in after both.
  await page.goto(w.url + "/");
  assert.equal(new URL(page.url()).pathname, "/");

  // The real sign-out button carries the token and works.
  await Promise.all([page.waitForURL(w.url + "/signin"), page.getByRole("button", { name: "Sign out" }).click()]);
  await page.goto(w.url + "/");
  assert.equal(new URL(page.url()).pathname, "/signin");
  await ctx.close();
});

test("when the session ends elsewhere, the polling dashboard goes to the sign-in page", async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await signIn(page, w.url, "alice");
  const token = await page.locator('meta[name="csrf-token"]').getAttribute("content");
  // Sign out through the API request context, which shares the cookie: the
  // page itself does nothing, its next poll finds no session.
  const res = await page.request.post(w.url + "/signout", { form: { csrf: token }, maxRedirects: 0 });
  assert.equal(res.status(), 303);
  await page.waitForURL((u) => u.pathname === "/signin", { timeout: 15_000 });
  await page.getByRole("heading", { name: "Sign in to Warden" }).waitFor();
  await ctx.close();
});

test("a hidden tab does not poll, and catches up when shown", async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await signIn(page, w.url, "alice");
  await page.goto(w.url + "/?show=all");
  let polls = 0;
  page.on("request", (req) => {
    if (new URL(req.url()).pathname === "/live/verdicts") {
      polls++;
    }
  });
  await page.evaluate(() => {
    Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
  });
  const key = await w.createKey("app");
  const ev = event({ type: "like", actor: "background" });
  await w.postEvents(key, [ev]);
  // Three poll periods: were it polling, the row would be there.
  await page.waitForTimeout(6_000);
  assert.equal(polls, 0, "a hidden tab polled");
  assert.equal(await page.locator(`tr[data-event-id="${ev.id}"]`).count(), 0);

  await page.evaluate(() => {
    Object.defineProperty(document, "hidden", { configurable: true, get: () => false });
  });
  await page.locator(`tr[data-event-id="${ev.id}"]`).waitFor({ timeout: 15_000 });
  await ctx.close();
});

test("the console works from the keyboard: sign in, skip link, navigation", async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(w.url + "/signin");
  // The username field has focus on arrival; Tab reaches the password, Enter submits.
  await page.keyboard.type("alice");
  await page.keyboard.press("Tab");
  await page.keyboard.type(PASSWORD);
  // alice is an admin, so her second factor is on by now: Tab to its field.
  const code = nextCode(w.url, "alice");
  assert.ok(code, "alice signed in before this test and turned on her second factor");
  await page.keyboard.press("Tab");
  await page.keyboard.type(code);
  await Promise.all([page.waitForURL(w.url + "/"), page.keyboard.press("Enter")]);

  // The first Tab on a page lands on the skip link, which moves focus to the main content.
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.textContent), "Skip to content");
  await page.keyboard.press("Enter");
  assert.equal(await page.evaluate(() => document.activeElement.id), "main");

  // A focused navigation link is followed with Enter.
  await page.getByRole("navigation", { name: "Console" }).getByRole("link", { name: "Rules" }).focus();
  await Promise.all([page.waitForURL(w.url + "/rules"), page.keyboard.press("Enter")]);
  await ctx.close();
});

test("the pause button holds the live view still until resumed", async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await signIn(page, w.url, "alice");
  await page.goto(w.url + "/?show=all");
  const pause = page.getByRole("button", { name: "Pause updates" });
  await pause.click();
  assert.equal(await pause.getAttribute("aria-pressed"), "true");

  const key = await w.createKey("app");
  const ev = event({ type: "like", actor: "paused" });
  await w.postEvents(key, [ev]);
  // Three poll periods: were it polling, the row would be there.
  await page.waitForTimeout(6_000);
  assert.equal(await page.locator(`tr[data-event-id="${ev.id}"]`).count(), 0, "a paused view updated");

  await pause.click();
  assert.equal(await pause.getAttribute("aria-pressed"), "false");
  await page.locator(`tr[data-event-id="${ev.id}"]`).waitFor({ timeout: 15_000 });
  await ctx.close();
});

test("an admin previews a shadow rule against the last day's events, then enforces it", async () => {
  const app = await w.createKey("app");
  // Signups without a device: the shadow rule signup_without_device hits them.
  await w.postEvents(app, Array.from({ length: 5 }, () => event({ type: "signup", device: undefined, target: undefined, target_kind: undefined })));
  const page = await browser.newPage();
  const watch = watchPage(page);
  await signIn(page, w.url, "alice");
  await page.goto(w.url + "/rules");
  const row = page.locator("tr", { has: page.locator("a.rule", { hasText: /^signup_without_device$/ }) });
  await Promise.all([page.waitForURL(/\/rules\/signup_without_device\/promote$/), row.getByRole("link", { name: "Preview enforcing" }).click()]);
  const summary = await page.locator("#promote-summary").innerText();
  assert.match(summary, /of \d+ verdicts would change/);
  await Promise.all([page.waitForURL(/promoted=signup_without_device/), page.getByRole("button", { name: /^Enforce/ }).click()]);
  await page.getByRole("status").filter({ hasText: "now enforces" }).waitFor();
  assert.equal(await row.locator(".mode").innerText(), "enforce");
  assert.deepEqual(watch.errors, []);
});
