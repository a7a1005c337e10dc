// The safety and privacy center in a real browser: a platform user follows
// a link the platform asked for (POST /v1/users/{user}/center), reads the
// material change to the terms in words, accepts it with the keyboard
// alone, gets a receipt whose JWS verifies with the key published at
// /.well-known/jwks.json, and turns on two-factor authentication with a
// code computed here (RFC 6238). A Japanese browser gets the page in
// Japanese; a forged link gets a clear error page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createPublicKey, verify } from "node:crypto";
import { startWarden, newBrowser, watchPage, totp } from "./lib.mjs";

let w;
let browser;
let admin;
let app;

// jpTerms is a version of the JP terms of service.
function jpTerms(version, retention, purposes) {
  return {
    kind: "terms",
    region: "JP",
    version,
    text: "You agree to these terms.\nWe keep your data as stated.\n",
    declares: {
      purposes,
      data_categories: ["profile", "messages"],
      recipients: ["cloud host"],
      retention,
      controller: "Example KK",
      contact: "privacy@example.jp",
    },
  };
}

async function call(method, path, key, body, want) {
  const res = await w.api(method, path, key, body);
  assert.equal(res.status, want, `${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

// centerLink asks for a link to user's center, as the platform does.
async function centerLink(user) {
  return (await call("POST", `/v1/users/${user}/center`, app, { region: "JP" }, 201)).url;
}

let v2;

before(async () => {
  w = await startWarden();
  browser = await newBrowser();
  admin = await w.createKey("admin");
  app = await w.createKey("app");
  // Version 1 of the JP terms, accepted at signup; then a material
  // version 2 (a new purpose, a longer retention).
  const v1 = await call("POST", "/v1/documents", admin, jpTerms("1", "18 months", ["service delivery"]), 201);
  for (const user of ["kenji", "hana", "rin"]) {
    await call("POST", `/v1/users/${user}/consent`, app, { document_id: v1.id, decision: "accept", collection_method: "signup" }, 201);
  }
  v2 = await call("POST", "/v1/documents", admin, jpTerms("2", "24 months", ["service delivery", "ads measurement"]), 201);
  assert.equal(v2.material, true);
});

after(async () => {
  await browser?.close();
  await w?.stop();
});

// verifyJWS checks a compact ES256 JWS against the server's JWKS and
// returns its payload.
async function verifyJWS(jws) {
  const [h, p, s] = jws.split(".");
  const header = JSON.parse(Buffer.from(h, "base64url"));
  const jwks = await (await fetch(w.url + "/.well-known/jwks.json")).json();
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  assert.ok(jwk, `no key ${header.kid} in the JWKS`);
  assert.equal(header.alg, "ES256");
  const key = createPublicKey({ key: jwk, format: "jwk" });
  const ok = verify("sha256", Buffer.from(`${h}.${p}`), { key, dsaEncoding: "ieee-p1363" }, Buffer.from(s, "base64url"));
  assert.ok(ok, "the receipt's signature does not verify with the published key");
  // A changed payload must not verify (the check above can fail).
  const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, "base64url")), decision: "decline" })).toString("base64url");
  assert.equal(verify("sha256", Buffer.from(`${h}.${forged}`), { key, dsaEncoding: "ieee-p1363" }, Buffer.from(s, "base64url")), false);
  return JSON.parse(Buffer.from(p, "base64url"));
}

test("a user follows the center link, sees what changed, accepts with the keyboard, gets a verified receipt and turns on 2FA", async () => {
  const link = await centerLink("kenji");

  const ctx = await browser.newContext({ locale: "en-US" });
  const page = await ctx.newPage();
  const watch = watchPage(page);
  await page.goto(link);
  assert.equal(await page.getAttribute("html", "lang"), "en");
  await page.getByRole("heading", { level: 1, name: "Your safety and privacy center" }).waitFor();
  const doc = page.locator(`article.pending-doc`);
  await doc.getByRole("heading", { name: "terms of service, version 2 (Japan)" }).waitFor();
  const changed = await doc.locator("ul.what-changed li").allInnerTexts();
  assert.deepEqual(changed, ["New purpose: “ads measurement”", "How long data is kept: 18 months → 24 months"]);

  // Keyboard only: Tab from the top of the page until Accept has focus,
  // then Enter. The skip link comes first.
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.textContent.trim()), "Skip to content");
  let found = false;
  for (let i = 0; i < 30 && !found; i++) {
    await page.keyboard.press("Tab");
    found = await page.evaluate(() => document.activeElement.tagName === "BUTTON" && document.activeElement.textContent.trim() === "Accept");
  }
  assert.ok(found, "Accept cannot be reached with Tab");
  // The focused button shows a focus ring.
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.equal(outline, "solid");
  await Promise.all([page.waitForURL(/\/consent/), page.keyboard.press("Enter")]);
  await page.locator("#center-notice").filter({ hasText: "your acceptance is recorded" }).waitFor();
  await page.locator("#consent-ok").waitFor();
  await page.locator("#receipt-verified").waitFor();
  const receiptID = (await page.locator("#receipt code").first().textContent()).trim();

  // The receipt: the JWS on the page verifies with the published key and
  // carries the Kantara fields.
  await page.locator("details.receipt-jws summary").click();
  const jws = (await page.locator("#receipt-jws").textContent()).trim();
  const claims = await verifyJWS(jws);
  assert.equal(claims.consentReceiptID, receiptID);
  assert.equal(claims.piiPrincipalId, "kenji");
  assert.equal(claims.decision, "accept");
  for (const f of ["version", "jurisdiction", "consentTimestamp", "collectionMethod", "piiControllers", "policyUrl", "services", "sensitive", "spiCat"]) {
    assert.ok(f in claims, `receipt has no ${f}`);
  }
  const st = await call("GET", "/v1/users/kenji/consent?region=JP", app, undefined, 200);
  assert.equal(st.pending.length, 0);
  assert.equal(st.current[0].receipt_id, receiptID);

  // Two-factor authentication: set up, a code from the secret on the page.
  await page.getByRole("button", { name: "Set up two-factor authentication" }).click();
  await page.locator("#totp-qr").waitFor();
  const secret = (await page.locator("#totp-secret").textContent()).trim();
  await page.getByLabel("The 6 digits the app shows").fill(totp(secret));
  await page.getByRole("button", { name: "Turn on" }).click();
  await page.locator("#twofa-on").waitFor();
  assert.equal(await page.locator("#recovery-codes li").count(), 10);
  const s = await call("GET", "/v1/users/kenji/2fa", app, undefined, 200);
  assert.equal(s.enabled, true);
  assert.deepEqual(watch.errors, []);
  await ctx.close();
});

test("a Japanese browser gets the center in Japanese", async () => {
  const link = await centerLink("hana");
  const ctx = await browser.newContext({ locale: "ja-JP" });
  const page = await ctx.newPage();
  const watch = watchPage(page);
  await page.goto(link);
  assert.equal(await page.getAttribute("html", "lang"), "ja");
  assert.equal(await page.title(), "安全とプライバシーのセンター");
  await page.getByRole("heading", { name: "規約とポリシー" }).waitFor();
  const changed = await page.locator("ul.what-changed li").allInnerTexts();
  assert.deepEqual(changed, ["新しい利用目的:「ads measurement」", "データの保存期間: 18 months → 24 months"]);
  // No English is left in the page's own words.
  const main = await page.locator("main").innerText();
  for (const en of ["Accept", "Decline", "What changed", "Two-factor", "Reports you made"]) {
    assert.ok(!main.includes(en), `English "${en}" on the Japanese page`);
  }
  await page.getByRole("button", { name: "同意する" }).click();
  await page.locator("#center-notice").filter({ hasText: "同意を記録しました" }).waitFor();
  // The language menu switches to another language and keeps the link.
  await page.getByRole("navigation", { name: "言語" }).getByRole("link", { name: "Deutsch" }).click();
  await page.getByRole("heading", { name: "Bedingungen und Richtlinien" }).waitFor();
  assert.equal(await page.getAttribute("html", "lang"), "de");
  assert.deepEqual(watch.errors, []);
  await ctx.close();
});

test("a forged center link gets a clear error page", async () => {
  const link = await centerLink("rin");
  const ctx = await browser.newContext({ locale: "en-GB" });
  const page = await ctx.newPage();
  const res = await page.goto(link.slice(0, -4) + "AAAA");
  assert.equal(res.status(), 404);
  await page.getByRole("heading", { name: "This link is not valid" }).waitFor();
  await page.getByText("Open the safety and privacy center again from the app.").waitFor();
  assert.ok(!(await page.content()).includes("rin"), "the error page names the user");
  await ctx.close();
});
