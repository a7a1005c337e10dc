// Rule quality in a real browser: two link flooders hit the spam rule; a
// moderator bans one and finds no violation in the other; the rules page
// links to the quality page, which charts the rule's precision (1 of 2)
// with its interval and its hit rate, and filters by rule.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWarden, newBrowser, signIn, watchPage, event } from "./lib.mjs";

let w;
let browser;

before(async () => {
  w = await startWarden({ users: [{ username: "mia", role: "moderator" }] });
  browser = await newBrowser();
});

after(async () => {
  await browser?.close();
  await w?.stop();
});

// flood has account post six links within minutes: the sixth hits
// link_flood_new_account (the spam ladder's first strike, a warning).
async function flood(app, account) {
  const created = new Date(Date.now() - 24 * 3600e3).toISOString();
  const events = [];
  for (let i = 0; i < 6; i++) {
    events.push(event({ type: "post", actor: account, target: undefined, target_kind: undefined,
      time: new Date(Date.now() - (10 - i) * 60e3).toISOString(),
      text: `great deal https://deals.example/${account}/${i}`, attrs: { account_created: created } }));
  }
  const verdicts = await w.postEvents(app, events);
  assert.ok(verdicts[5].hits.some((h) => h.rule === "link_flood_new_account"), JSON.stringify(verdicts[5]));
}

async function decide(app, mod, account, action) {
  const r = await w.api("POST", "/v1/reports", app, { reporter: "u1", subject: { kind: "account", id: account }, category: "scam", description: "spam links" });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const d = await w.api("POST", `/v1/cases/${r.body.case_id}/decision`, mod, { action, policy: "Spam", explanation: "Judged on the posts." });
  assert.equal(d.status, 201, JSON.stringify(d.body));
}

test("a moderator reads a rule's precision and hit rate on the quality page", async () => {
  const app = await w.createKey("app");
  const mod = await w.createKey("moderator");
  await flood(app, "flooder");
  await flood(app, "fan");
  await decide(app, mod, "flooder", "ban_account");
  await decide(app, mod, "fan", "no_violation");

  const page = await browser.newPage();
  const watch = watchPage(page);
  await signIn(page, w.url, "mia");
  await page.getByRole("navigation", { name: "Console" }).getByRole("link", { name: "Rules" }).click();
  await page.getByRole("link", { name: "Rule quality" }).click();
  await page.waitForURL(/\/rules\/quality/);
  const rule = page.getByRole("region", { name: "link_flood_new_account" });
  await rule.waitFor();
  const row = rule.locator("table.versions tr[data-version='1']");
  assert.match(await row.locator("td.precision").innerText(), /50 %.*1 of 2/);
  assert.match(await row.innerText(), /enforce: 2 accounts/);
  const chart = rule.getByRole("img", { name: /Precision per version/ });
  assert.match(await chart.getAttribute("aria-label"), /version 1: precision 50 % \(95 % interval 9–91 %\), 1 of 2 judged accounts violated/);
  assert.equal(await rule.locator(".precision-chart circle.value").count(), 1);
  assert.equal(await rule.locator(".rate-chart polyline.rate").count(), 1);
  await page.getByRole("region", { name: "Drift alerts" }).getByText("No rule's hit rate or precision moved").waitFor();

  await page.getByLabel("Rule").fill("no_such_rule");
  await page.getByRole("button", { name: "Show" }).click();
  await page.waitForURL(/rule=no_such_rule/);
  await page.getByText("No rule hit anything in this window.").waitFor();
  assert.deepEqual(watch.errors, []);
});
