// The data-access ledger and data requests in a real browser: an admin
// finds a flagged access from the console's navigation and resolves it; a
// user's safety and privacy center says who accessed their data and why,
// and makes a data request.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWarden, newBrowser, signIn, watchPage } from "./lib.mjs";

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

test("an admin resolves a flagged access; the user's center shows the access and takes a data request", async () => {
  const app = await w.createKey("app");
  const flagged = await w.api("POST", "/v1/access", app, {
    user: "u42", actor: { class: "vendor", id: "bpo-9" }, purpose: "SERVICE_OPERATION", data_categories: ["messages"],
  });
  assert.equal(flagged.status, 201, JSON.stringify(flagged.body));
  assert.deepEqual(flagged.body.flags, ["purpose_not_allowed"]);
  const support = await w.api("POST", "/v1/access", app, {
    user: "u42", actor: { class: "employee", id: "agent-3" }, purpose: "USER_INITIATED_SUPPORT", ticket: "zendesk:991", data_categories: ["profile"],
  });
  assert.equal(support.status, 201);
  const refused = await w.api("POST", "/v1/access", app, { user: "u42", actor: { class: "employee", id: "agent-3" } });
  assert.equal(refused.status, 422);

  const page = await browser.newPage();
  const watch = watchPage(page);
  await signIn(page, w.url, "ada");
  await page.getByRole("navigation", { name: "Console" }).getByRole("link", { name: "Ledgers" }).click();
  const row = page.locator("tr[data-flag]").filter({ hasText: "bpo-9" });
  await row.waitFor();
  assert.match(await row.innerText(), /purpose_not_allowed/);
  await row.getByLabel("Note").fill("the vendor contract covers it");
  await row.getByRole("button", { name: "Resolve" }).click();
  await page.getByRole("status").filter({ hasText: "is resolved" }).waitFor();
  await page.locator("#no-flags").waitFor();

  const link = await w.api("POST", "/v1/users/u42/center", app, {});
  assert.equal(link.status, 201);
  const center = await browser.newPage();
  const cwatch = watchPage(center);
  await center.goto(link.body.url);
  const access = center.getByRole("region", { name: "Who accessed your data" });
  await access.getByText("An employee looked at your profile to answer a support request you made (ticket zendesk:991).").waitFor();
  await access.getByText("A vendor working for the platform looked at your messages to keep the service running.").waitFor();
  await center.getByRole("button", { name: "Get a copy of my data" }).click();
  await center.getByRole("status").filter({ hasText: /Your request DR-\w+ \(copy of my data\) is received/ }).waitFor();
  await center.locator("#request-list").getByText("received").waitFor();

  assert.deepEqual(watch.errors, []);
  assert.deepEqual(cwatch.errors, []);
});
