// The trust-incident loop in a real browser: three users and a trusted
// flagger report a scam account over the API; a moderator signs in, finds
// the trusted flagger's case first, takes it and bans the account from the
// keyboard; the reporters' timelines and the contacted users' inboxes show
// the outcome.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWarden, newBrowser, signIn, watchPage, event } from "./lib.mjs";

let w;
let browser;
let wired = false;

before(async () => {
  w = await startWarden({ users: [{ username: "mia", role: "moderator" }] });
  const spec = await (await fetch(w.url + "/openapi.json")).json();
  wired = Boolean(spec.paths["/v1/reports"]) && (await fetch(w.url + "/cases", { redirect: "manual" })).status !== 404;
  browser = await newBrowser();
});

after(async () => {
  await browser?.close();
  await w?.stop();
});

test("a moderator takes a reported scam case, bans the account, and the reporters see the decision", async (t) => {
  if (!wired) {
    t.skip("this warden serve does not mount the incident API and pages yet (see docs/incidents.md, Wiring)");
    return;
  }
  const app = await w.createKey("app");
  const flagger = await w.createKey("trusted_flagger");
  await w.postEvents(app, [
    event({ type: "message", actor: "scam1", target: "v1", text: "send 200 EUR" }),
    event({ type: "message", actor: "scam1", target: "v2", text: "send 200 EUR" }),
  ]);
  const report = (reporter) => ({ reporter, subject: { kind: "account", id: "scam1" }, category: "scam", description: "asked me for money" });
  const other = await w.api("POST", "/v1/reports", app, { ...report("zed"), subject: { kind: "account", id: "rude1" }, category: "harassment" });
  assert.equal(other.status, 201);
  const reports = [];
  for (const u of ["alice", "bob", "carol"]) {
    const r = await w.api("POST", "/v1/reports", app, report(u));
    assert.equal(r.status, 201, JSON.stringify(r.body));
    reports.push(r.body);
  }
  const tf = await w.api("POST", "/v1/reports", flagger, report("safety-ngo"));
  assert.equal(tf.status, 201);
  reports.push(tf.body);
  const caseID = reports[0].case_id;
  assert.ok(reports.every((r) => r.case_id === caseID), "all four reports share one case");

  const page = await browser.newPage();
  const watch = watchPage(page);
  await signIn(page, w.url, "mia");
  await page.goto(w.url + "/cases");
  const rows = page.locator("tr[data-case-id]");
  await rows.first().waitFor();
  assert.equal(await rows.first().getAttribute("data-case-id"), caseID, "the trusted flagger's case is first");
  assert.match(await rows.first().innerText(), /trusted flagger/);

  await Promise.all([page.waitForURL(w.url + "/cases/" + caseID), page.getByRole("button", { name: "Take the next case" }).click()]);
  await page.getByRole("heading", { name: "Reports (4)" }).waitFor();
  assert.equal(await page.locator("ol.reports li").first().getAttribute("data-source"), "trusted_flagger");

  // From the keyboard: b picks "Ban account" and moves to the explanation.
  await page.locator("body").press("b");
  assert.equal(await page.getByLabel(/Ban account/).isChecked(), true);
  await page.keyboard.type("The account asked several users to transfer money.");
  await Promise.all([page.waitForURL(/done=ban_account/), page.keyboard.press("Control+Enter")]);
  await page.getByRole("status").filter({ hasText: "Decided: ban_account" }).waitFor();
  // The audit log names the moderator; the closed history holds the case,
  // and so does a search by its subject; the next case is one click away.
  assert.match(await page.locator("ol.audit").innerText(), /claimed mia/);
  await page.getByRole("button", { name: /Take the next case in/ }).waitFor();
  await page.goto(w.url + "/cases?status=closed");
  await page.locator(`tr[data-case-id="${caseID}"]`).waitFor();
  await page.goto(w.url + "/cases");
  await page.getByLabel("Subject").fill("scam1");
  await Promise.all([page.waitForURL(/subject=scam1/), page.getByRole("button", { name: "Filter" }).click()]);
  assert.equal(await page.locator("tr[data-case-id]").count(), 1);
  assert.equal(await page.locator("tr[data-case-id]").first().getAttribute("data-case-id"), caseID);

  for (const r of reports) {
    const { status, body } = await w.api("GET", "/v1/reports/" + r.id, app);
    assert.equal(status, 200);
    assert.deepEqual(body.timeline.map((s) => s.status), ["received", "in_review", "decided"]);
    assert.match(body.timeline[2].message, /permanent removal of the account/);
  }
  for (const u of ["v1", "v2"]) {
    const { body } = await w.api("GET", `/v1/users/${u}/notifications`, app);
    assert.deepEqual(body.notifications.map((n) => n.kind), ["exposure"]);
  }
  const owner = await w.api("GET", "/v1/users/scam1/notifications", app);
  assert.equal(owner.body.notifications[0].kind, "statement_of_reasons");
  assert.deepEqual(watch.errors, []);
});
