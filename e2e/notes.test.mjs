// Interview notes and regional messaging in a real browser: a wave is
// imported with the CLI, notes through the API (a note carrying an e-mail
// address is refused and nothing is stored); an admin opens Trust notes
// from the navigation and finds each note under its region and theme
// beside the region's trust index, the messaging results per arm, and the
// earlier wave without notes.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { startWarden, newBrowser, signIn, watchPage, run } from "./lib.mjs";

let w;
let browser;

const codebook = `
platform_id: pid
trust: trust
scales: {agree5: {min: 1, max: 5}}
items: [{name: trust, scale: agree5}]
`;

before(async () => {
  w = await startWarden({ users: [{ username: "ada", role: "admin" }], args: ["--admin-2fa=false"] });
  browser = await newBrowser();
});

after(async () => {
  await browser?.close();
  await w?.stop();
});

test("an admin reads a wave's interview notes beside its trust figures", async () => {
  await writeFile(join(w.dataDir, "cb.yaml"), codebook);
  for (const wave of ["2026-Q2", "2026-Q3"]) {
    let csv = "region,pid,trust\n";
    for (let i = 0; i < 80; i++) csv += `${["JP", "US"][i % 2]},u${i},${1 + (i % 5)}\n`;
    await writeFile(join(w.dataDir, `${wave}.csv`), csv);
    await run(["survey", "import", "--wave", wave, "--in", join(w.dataDir, `${wave}.csv`), "--codebook", join(w.dataDir, "cb.yaml"), "--data", w.dataDir]);
  }
  const admin = await w.createKey("admin");
  const note = { ref: "JP-1", region: "JP", segment: "low", themes: ["privacy", "scams"], quote: "I keep my messages short because I don't know who reads them." };
  const refused = await w.api("POST", "/v1/insights/notes", admin, {
    wave: "2026-Q3", notes: [note, { ref: "US-1", region: "US", segment: "high", themes: ["control"], quote: "Mail me at jo@example.com" }],
  });
  assert.equal(refused.status, 400, JSON.stringify(refused.body));
  assert.equal(refused.body.error.field, "notes[1].quote");
  const none = await w.api("GET", "/v1/insights/notes?wave=2026-Q3", admin);
  assert.deepEqual(none.body.notes, []);
  const saved = await w.api("POST", "/v1/insights/notes", admin, {
    wave: "2026-Q3", notes: [note, { ref: "US-1", region: "US", segment: "high", themes: ["control"], quote: "Turning off ad tracking was easy." }],
  });
  assert.equal(saved.status, 201, JSON.stringify(saved.body));
  const trust = await w.api("GET", "/v1/insights/trust?region=JP", admin);
  assert.equal(trust.body.regions[0].notes[0].ref, "JP-1");

  const page = await browser.newPage();
  const watch = watchPage(page);
  await signIn(page, w.url, "ada");
  await page.getByRole("navigation", { name: "Console" }).getByRole("link", { name: "Trust notes" }).click();
  const jp = page.getByRole("region", { name: "JP" });
  await jp.getByText("I keep my messages short").first().waitFor();
  assert.match(await jp.locator(".figures").innerText(), /top-2-box \d+\.\d % \(\d+\.\d–\d+\.\d %\), mean \d\.\d\d \(\d\.\d\d–\d\.\d\d\), n = 40/);
  assert.equal(await jp.locator('ul[data-theme="privacy"] li').count(), 1);
  assert.equal(await jp.locator('ul[data-theme="scams"] li').count(), 1);
  assert.equal(await jp.getByText("Turning off ad tracking").count(), 0);
  const messages = page.getByRole("region", { name: "Regional messaging in 2026-Q3" });
  await messages.locator('table[data-regions="US"] tr[data-variant="us-data-transparency"]').waitFor();

  await page.getByLabel("Wave").selectOption("2026-Q2");
  await page.getByRole("button", { name: "Show" }).click();
  await page.getByText("No notes for JP in this wave.").waitFor();
  assert.deepEqual(watch.errors, []);
});
