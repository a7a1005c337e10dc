// The Cluster page in a real browser, on one node: an admin reaches it from
// the navigation and is told this Warden runs as one node and how to start
// a cluster; a moderator has no such page. (The page over a live cluster
// is tested in web/cluster_test.go; a cluster needs PostgreSQL and NATS.)
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

test("an admin's Cluster page says this Warden is one node; a moderator has none", async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const watch = watchPage(page);
  await signIn(page, w.url, "ada");
  await page.goto(w.url + "/");
  const nav = page.getByRole("navigation", { name: "Console" });
  await Promise.all([page.waitForURL(/\/cluster$/), nav.getByRole("link", { name: "Cluster" }).click()]);
  assert.equal(await page.title(), "Cluster · Warden");
  assert.match(await page.locator("#cluster-none").innerText(), /runs as one node.*warden serve --nats/s);
  assert.deepEqual(watch.errors, []);
  await ctx.close();

  const mctx = await browser.newContext();
  const mpage = await mctx.newPage();
  await signIn(mpage, w.url, "mo");
  assert.equal(await mpage.getByRole("navigation", { name: "Console" }).getByRole("link", { name: "Cluster" }).count(), 0);
  const res = await mpage.goto(w.url + "/cluster");
  assert.equal(res.status(), 403);
  await mctx.close();
});
