// The sensitive-permission ledger in a real browser: an admin declares the
// app's manifest and the app reports reads over the API; the console's App
// permissions page flags the clipboard read without a gesture from an
// undeclared feature and lists the declared capability never used; a
// moderator has no such page; the user's safety and privacy center says
// what their app read.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWarden, newBrowser, signIn, watchPage } from "./lib.mjs";

let w;
let browser;

before(async () => {
  w = await startWarden({ users: [{ username: "ada", role: "admin" }, { username: "mo", role: "moderator" }] });
  browser = await newBrowser();
});

after(async () => {
  await browser?.close();
  await w?.stop();
});

test("an admin sees the undeclared clipboard reads flagged and the unused capability listed; the user sees what their app read", async () => {
  const admin = await w.createKey("admin");
  const app = await w.createKey("app");
  const manifest = {
    app_version: "7.0.1",
    features: [
      { feature: "paste_link", permissions: [{ permission: "clipboard.read", trigger: "user_gesture" }] },
      { feature: "nearby", permissions: [{ permission: "location", trigger: "any" }] },
    ],
  };
  let r = await w.api("PUT", "/v1/client/manifest", admin, manifest);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  r = await w.api("PUT", "/v1/client/manifest", app, manifest);
  assert.equal(r.status, 403, "an app key may not declare the manifest");
  const at = (s) => new Date(Date.now() - s * 1000).toISOString().replace(/\.\d+Z$/, "Z");
  const rec = (feature, trigger, ago) => ({ user: "u-e2e", app_version: "7.0.1", permission: "clipboard.read", feature, trigger, foreground: true, count: 1, time: at(ago) });
  r = await w.api("POST", "/v1/client/permissions", app, { records: [rec("paste_link", "user_gesture", 600), rec("search_suggest", "programmatic", 300), rec("search_suggest", "programmatic", 299)] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body, { accepted: 3, undeclared: 2 });

  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const watch = watchPage(page);
  await signIn(page, w.url, "ada");
  await page.goto(w.url + "/");
  const nav = page.getByRole("navigation", { name: "Console" });
  await Promise.all([page.waitForURL(/\/client-permissions$/), nav.getByRole("link", { name: "App permissions" }).click()]);
  assert.equal(await page.title(), "App permissions · Warden");
  assert.equal(await page.getByLabel("App version").inputValue(), "7.0.1");
  const flag = page.locator("#perm-flags tr.flag-undeclared");
  await flag.waitFor();
  assert.match(await flag.innerText(), /undeclared\s+clipboard\.read\s+search_suggest\s+2/);
  assert.equal(await page.locator("#perm-flags tbody tr").count(), 1, "the declared read after a gesture is not flagged");
  const inactive = page.locator("#perm-inactive tbody tr");
  assert.equal(await inactive.count(), 1);
  assert.match(await inactive.first().innerText(), /nearby\s+location\s+any\s+never/);

  // A window of one day, by the form.
  await page.getByLabel("Days").fill("1");
  await Promise.all([page.waitForURL(/days=1/), page.getByRole("button", { name: "Show" }).click()]);
  await page.locator("#perm-flags tr.flag-undeclared").waitFor();
  assert.deepEqual(watch.errors, []);
  // A bad window is refused with what to fix (a 422 page, which the
  // browser logs as a failed load).
  await page.getByLabel("Days").fill("0");
  await Promise.all([page.waitForURL(/days=0/), page.getByRole("button", { name: "Show" }).click()]);
  await page.getByRole("alert").filter({ hasText: "Days must be a whole number from 1 to 400." }).waitFor();
  await ctx.close();

  // A moderator has no link and no page.
  const mctx = await browser.newContext();
  const mpage = await mctx.newPage();
  await signIn(mpage, w.url, "mo");
  assert.equal(await mpage.getByRole("navigation", { name: "Console" }).getByRole("link", { name: "App permissions" }).count(), 0);
  const resp = await mpage.goto(w.url + "/client-permissions");
  assert.equal(resp.status(), 403);
  await mctx.close();

  // The user's safety and privacy center.
  r = await w.api("POST", "/v1/users/u-e2e/center", app, {});
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const cctx = await browser.newContext();
  const cpage = await cctx.newPage();
  const cwatch = watchPage(cpage);
  await cpage.goto(r.body.url);
  const section = cpage.locator("#app-reads");
  await section.getByRole("heading", { name: "What your app read" }).waitFor();
  assert.match(await cpage.locator("#app-reads-summary").innerText(), /your clipboard \(what you copied\) 3 times/);
  assert.match(await section.innerText(), /"search_suggest" feature read your clipboard \(what you copied\) 2 times, each time on its own/);
  assert.deepEqual(cwatch.errors, []);
  await cctx.close();
});
