// A lockstep crowd in a real browser: fourteen accounts like the same four
// posts within seconds of each other; the engine's lockstep rule flags
// them and they become one campaign case; a moderator opens it, sees the
// members, and bans them all in one decision; every member's standing
// then shows the ban.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWarden, newBrowser, signIn, watchPage, event } from "./lib.mjs";

let w;
let browser;

before(async () => {
  w = await startWarden({ users: [{ username: "noa", role: "moderator" }] });
  browser = await newBrowser();
});

after(async () => {
  await browser?.close();
  await w?.stop();
});

test("a lockstep crowd is one campaign case, banned in one decision", async () => {
  const app = await w.createKey("app");
  const mod = await w.createKey("moderator");
  const run = Math.random().toString(36).slice(2, 8);
  const members = Array.from({ length: 14 }, (_, i) => `crowd-${run}-${i}`);
  const start = Date.now() - 5 * 60_000;
  const evs = [];
  for (let k = 0; k < 4; k++) {
    members.forEach((actor, i) => {
      evs.push(event({ type: "like", actor, target: `post-${run}-${k}`, target_kind: "content", time: new Date(start + k * 30_000 + i * 1000).toISOString() }));
    });
  }
  await w.postEvents(app, evs);

  // The verdict bridge files detections asynchronously.
  let campaign;
  for (let i = 0; i < 50 && !campaign; i++) {
    const { body } = await w.api("GET", "/v1/cases", mod);
    campaign = body.cases.find((c) => c.subject.kind === "campaign");
    if (!campaign) await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(campaign, "a campaign case was opened");
  const open = (await w.api("GET", "/v1/cases", mod)).body.cases;
  assert.equal(open.filter((c) => c.subject.kind === "account").length, 0, "no member has a case of its own");

  const page = await browser.newPage();
  const watch = watchPage(page);
  await signIn(page, w.url, "noa");
  await page.goto(w.url + "/cases/" + campaign.id);
  const heading = page.getByRole("heading", { name: /^Members \(\d+\)/ });
  await heading.waitFor();
  const n = Number((await heading.innerText()).match(/Members \((\d+)\)/)[1]);
  assert.ok(n >= 10, `the campaign lists ${n} members`);
  await page.getByRole("button", { name: "Take this case" }).click();
  await page.locator("#decision-form").waitFor();
  await page.locator("body").press("b");
  await page.keyboard.type("These accounts acted together to fake engagement on the same posts within seconds.");
  await Promise.all([page.waitForURL(/done=ban_account/), page.keyboard.press("Control+Enter")]);

  const decided = (await w.api("GET", "/v1/cases/" + campaign.id, mod)).body;
  const listed = decided.members.map((m) => m.account);
  assert.ok(decided.members.every((m) => m.status === "decided" && m.decision_id), "every member has its own decision");
  let banned = 0;
  for (const m of listed) {
    const { status, body } = await w.api("GET", `/v1/accounts/${m}/standing`, app);
    assert.equal(status, 200);
    if (body.restriction?.action === "ban_account") banned++;
  }
  assert.equal(listed.length, n);
  assert.ok(listed.every((m) => members.includes(m)), "only crowd accounts are members");
  assert.equal(banned, n, `all ${n} members are banned`);
  assert.deepEqual(watch.errors, []);
});

test("from the dashboard to an event and the accounts on its address", async () => {
  const app = await w.createKey("app");
  const run = Math.random().toString(36).slice(2, 8);
  const ip = `198.51.100.${Math.floor(Math.random() * 200) + 20}`;
  const evs = [
    event({ id: `msg-${run}`, type: "message", actor: `seller-${run}`, target: `buyer-${run}`, target_kind: "account", ip, text: `pay the deposit first ${run}` }),
    event({ type: "login", actor: `helper-${run}`, ip }),
  ];
  await w.postEvents(app, evs);

  const page = await browser.newPage();
  const watch = watchPage(page);
  await signIn(page, w.url, "noa");
  await page.goto(w.url + "/?show=all");
  await Promise.all([page.waitForURL(w.url + `/events/msg-${run}`), page.getByRole("link", { name: `msg-${run}` }).click()]);
  assert.match(await page.locator("blockquote").innerText(), new RegExp(`pay the deposit first ${run}`));
  await Promise.all([page.waitForURL(w.url + "/ips/" + ip), page.getByRole("link", { name: ip }).click()]);
  const accounts = await page.locator("section", { has: page.getByRole("heading", { name: "Accounts" }) }).innerText();
  assert.match(accounts, new RegExp(`seller-${run}`));
  assert.match(accounts, new RegExp(`helper-${run}`));
  assert.deepEqual(watch.errors, []);
});
