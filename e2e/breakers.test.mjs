// A rule's circuit breaker in a real browser: the built-in rule
// denied_domain fires on 2 % of ten hours of posts, then on a third of
// five minutes'; the console's Rules page alerts the admin to the tripped
// breaker with its shares, and the admin re-arms it from there.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWarden, newBrowser, signIn, watchPage, event } from "./lib.mjs";

let w;
let browser;

before(async () => {
  w = await startWarden({ users: [{ username: "ada", role: "admin" }], args: ["--admin-2fa=false"] });
  browser = await newBrowser();
});

after(async () => {
  await browser?.close();
  await w?.stop();
});

// posts returns n posts from distinct accounts, one every gap ms from t0,
// every kth linking a denied domain.
function posts(tag, t0, n, k, gap) {
  return Array.from({ length: n }, (_, i) =>
    event({
      type: "post",
      actor: `${tag}-${i}`,
      target: undefined,
      target_kind: undefined,
      time: new Date(t0 + i * gap).toISOString(),
      text: i % k === 0 ? `free videos ${i} at vid-share.xyz/${tag}` : `photo ${i} of my ${tag} holiday`,
    }),
  );
}

test("an admin sees a tripped breaker on the Rules page and re-arms it", async () => {
  const app = await w.createKey("app");
  const admin = await w.createKey("admin");
  const t0 = Date.now() - 12 * 3600_000;
  await w.postEvents(app, posts("n", t0, 1000, 50, 36_000));
  const burst = await w.postEvents(app, posts("b", t0 + 10 * 3600_000, 300, 3, 1000));
  const held = burst.filter((v) => v.hits.some((h) => h.rule === "denied_domain" && h.action === "review"));
  assert.ok(held.length > 20, `${held.length} burst hits held`);

  const page = await browser.newPage();
  const watch = watchPage(page);
  await signIn(page, w.url, "ada");
  await page.getByRole("navigation", { name: "Console" }).getByRole("link", { name: "Rules" }).click();
  const alert = page.getByRole("alert").filter({ hasText: "Held by their breakers" });
  await alert.waitFor();
  assert.match(await alert.innerText(), /denied_domain: \d+ % of events vs 2 % usual/);
  await alert.getByRole("button", { name: "Re-arm denied_domain" }).click();
  await page.getByRole("status").filter({ hasText: "is re-armed" }).waitFor();
  assert.equal(await page.getByRole("alert").filter({ hasText: "Held by their breakers" }).count(), 0);

  const { status, body } = await w.api("GET", "/v1/rules/breakers", admin);
  assert.equal(status, 200);
  assert.deepEqual(body.breakers, []);
  const after = await w.postEvents(app, posts("c", t0 + 10 * 3600_000 + 6 * 60_000, 30, 3, 1000));
  assert.ok(after.every((v) => v.action === "block" || !v.hits.some((h) => h.rule === "denied_domain")));
  assert.deepEqual(watch.errors, []);
});
