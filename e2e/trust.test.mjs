// The trust dashboard in a real browser, on serve --demo's survey (two
// waves of synthetic respondents in seven regions; a scammer messages a
// quarter of their accounts, some report it, a moderator bans it): an
// admin opens the Trust page from the navigation, sees the chart of both
// waves in every region and lower trust for the respondents exposed to the
// banned scammer, switches to one region, downloads the CSV and finds the
// page's figure in it, and opens the printable report.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { startWarden, newBrowser, signIn, watchPage } from "./lib.mjs";

let w;
let browser;

before(async () => {
  w = await startWarden({ users: [{ username: "ada", role: "admin" }], args: ["--demo", "--demo-rate", "1", "--admin-2fa=false"] });
  browser = await newBrowser();
});

after(async () => {
  await browser?.close();
  await w?.stop();
});

// parseCSV reads RFC 4180 CSV (quoted fields, doubled quotes).
function parseCSV(text) {
  const rows = [];
  let row = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') {
        quoted = false;
      } else {
        field += ch;
      }
    } else if (ch === '"') {
      quoted = true;
    } else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else if (ch !== "\r") {
      field += ch;
    }
  }
  return rows;
}

// figure reads the data-value of the cell of figure in row.
async function figure(row, name) {
  return Number(await row.locator(`[data-figure="${name}"]`).getAttribute("data-value"));
}

test("the trust dashboard shows the demo's waves and the exposed's lower trust; one region; CSV; printable report", async () => {
  // serve --demo loads its survey in the background: wait for the trust call.
  const admin = await w.createKey("admin");
  let rep;
  for (let i = 0; i < 100 && !rep; i++) {
    const res = await w.api("GET", "/v1/insights/trust", admin);
    if (res.status === 200) {
      rep = res.body;
    } else {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  assert.ok(rep, "the demo's survey waves did not load");
  assert.equal(rep.waves.length, 2);

  const page = await browser.newPage();
  const watch = watchPage(page);
  await signIn(page, w.url, "ada");
  await page.getByRole("navigation", { name: "Console" }).getByRole("link", { name: "Trust", exact: true }).click();
  await page.getByRole("heading", { name: `Trust, wave ${rep.wave}`, level: 1 }).waitFor();

  // The chart of both waves in all seven regions, with its figures in words.
  const trend = page.locator("#trend");
  const chart = trend.getByRole("img", { name: "Top-2-box trust by region and wave" });
  await chart.waitFor();
  assert.equal(await chart.locator(".ci-point").count(), 14);
  assert.equal(await chart.locator(".ci-group").count(), 7);
  for (const wave of rep.waves) {
    await trend.locator(".legend").first().getByText(wave).waitFor();
  }
  const jpNow = trend.locator(`#trend-table tr[data-region="JP"][data-wave="${rep.wave}"]`);
  const jpTop = await figure(jpNow, "top2");
  const jpRep = rep.regions.find((r) => r.region === "JP");
  assert.equal(jpTop, jpRep.top2.value);
  assert.equal((await jpNow.locator('[data-figure="top2"]').innerText()).trim(), `${(100 * jpTop).toFixed(1)}%`);

  // Trust by platform experience: the exposed trust less in every region.
  const exposed = page.locator('.split[data-group="exposed_to_actioned"]');
  await exposed.getByRole("img", { name: "Top-2-box trust: Exposed to an account later actioned" }).waitFor();
  for (const r of rep.regions) {
    const yes = await figure(exposed.locator(`tr[data-region="${r.region}"][data-level="yes"]`), "split_mean");
    const no = await figure(exposed.locator(`tr[data-region="${r.region}"][data-level="no"]`), "split_mean");
    assert.ok(yes < no, `${r.region}: exposed ${yes}, not exposed ${no}`);
  }

  // One region, from the selector.
  await page.getByLabel("Region", { exact: true }).selectOption("JP");
  await Promise.all([page.waitForURL(/region=JP/), page.getByRole("button", { name: "Show" }).click()]);
  await page.getByRole("heading", { name: `Trust, wave ${rep.wave}, JP`, level: 1 }).waitFor();
  assert.equal(await page.getByRole("img", { name: "Top-2-box trust by region and wave" }).locator(".ci-point").count(), 2);
  assert.equal(await page.getByRole("img", { name: "Mean trust by region and wave" }).locator(".ci-point").count(), 2);
  assert.equal(await page.locator("#trend-table tbody tr").count(), 2);
  const shown = await figure(page.locator(`#trend-table tr[data-region="JP"][data-wave="${rep.wave}"]`), "top2");
  assert.equal(shown, jpTop);

  // The CSV of the figures shown.
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download the figures (CSV)" }).click()]);
  assert.equal(download.suggestedFilename(), `trust-${rep.wave}-JP.csv`);
  const rows = parseCSV(await readFile(await download.path(), "utf8"));
  const head = rows[0];
  assert.deepEqual(head, ["wave", "region", "figure", "group", "level", "value", "low", "high", "se", "n", "p", "significant"]);
  const col = (name) => head.indexOf(name);
  const top = rows.find((r) => r[col("wave")] === rep.wave && r[col("region")] === "JP" && r[col("figure")] === "top2");
  assert.ok(top, "no JP top2 row in the CSV");
  assert.equal(Number(top[col("value")]), shown);
  assert.equal(Number(top[col("n")]), jpRep.n);
  assert.ok(rows.slice(1).every((r) => r[col("region")] === "JP"));

  // The printable report of the wave: no navigation, every region.
  await Promise.all([page.waitForURL(/\/insights\/report\?wave=/), page.getByRole("link", { name: "Printable report" }).click()]);
  await page.getByRole("heading", { name: `Trust report, wave ${rep.wave}`, level: 1 }).waitFor();
  assert.equal(await page.getByRole("navigation", { name: "Console" }).count(), 0);
  await page.getByRole("heading", { name: "Method" }).waitFor();
  assert.equal(await page.locator("table.drivers-table").count(), 7);
  assert.equal(await page.getByRole("img", { name: "Top-2-box trust by region and wave" }).locator(".ci-point").count(), 14);
  await page.emulateMedia({ media: "print" });
  assert.equal(await page.getByRole("link", { name: "Back to the console" }).isVisible(), false);

  assert.deepEqual(watch.errors, []);
});
