// Drives the situation map in a real browser (Debian's Chromium, never a downloaded one) as a
// user would: replays the Aleppo offensive with the time slider, opens a place, and watches a
// newly published event arrive without a reload. Run by tests/e2e/test_map_browser.py.
//
// Environment: MAP_URL (the page), API_URL (the API's base URL), PUBLISHER_TOKEN (a bearer
// token with the publisher role), ARTIFACTS (where screenshots go), CHROMIUM (the browser).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const MAP_URL = need("MAP_URL");
const API_URL = need("API_URL");
const TOKEN = need("PUBLISHER_TOKEN");
const ARTIFACTS = need("ARTIFACTS");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const HTS = "Hayat Tahrir al-Sham";
const GOVERNMENT = "Syrian government";

function need(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

function check(condition, message) {
  if (!condition) throw new Error(message);
  console.log(`ok - ${message}`);
}

async function settled(page) {
  await page.waitForFunction(() => document.body.dataset.state === "ready", null, { timeout: 20000 });
}

// Moves the slider with the keyboard, as a user would, until its label shows `day`.
async function slideTo(page, day) {
  const slider = page.locator("#at");
  await slider.focus();
  await slider.press("End");
  for (let i = 0; i < 5000; i += 1) {
    const shown = await page.locator("#at-label").textContent();
    if (shown === day) break;
    if (shown !== "latest" && shown < day) throw new Error(`the slider skipped ${day} (at ${shown})`);
    await slider.press("ArrowLeft");
  }
  await page.waitForFunction((d) => document.body.dataset.at === d, day);
  await settled(page);
}

async function marker(page, name) {
  const node = page.locator(`#map g.place[data-name="${name}"]`);
  await node.waitFor({ timeout: 10000 });
  return {
    node,
    controller: await node.getAttribute("data-controller"),
    status: await node.getAttribute("data-status"),
  };
}

async function publish(event) {
  const answer = await fetch(`${API_URL}/v1/events`, {
    method: "POST",
    headers: { Authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(event),
  });
  const text = await answer.text();
  if (!answer.ok) throw new Error(`publishing answered ${answer.status}: ${text}`);
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  // Root in a container has no user namespace for Chromium's sandbox.
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
const failures = [];
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
  page.on("pageerror", (error) => failures.push(`page error: ${error.message}`));
  // The page's Content-Security-Policy allows only the service itself: anything it blocks
  // (an inline style or script, another host) is a defect of the page.
  page.on("console", (message) => {
    if (message.type() === "error" && /Content Security Policy/i.test(message.text())) {
      failures.push(`blocked by the page's policy: ${message.text()}`);
    }
  });
  const offsite = [];
  page.on("request", (request) => {
    if (!request.url().startsWith(new URL(MAP_URL).origin) && !request.url().startsWith("data:")) {
      offsite.push(request.url());
    }
  });
  await page.goto(MAP_URL);
  await settled(page);
  check((await page.locator("#at-label").textContent()) === "latest", "the slider starts at latest");

  // 1 December 2024: HTS holds most of Aleppo.
  await slideTo(page, "2024-12-01");
  let aleppo = await marker(page, "Aleppo");
  check(aleppo.controller === HTS && aleppo.status === "partial",
    `on 1 Dec 2024 Aleppo is drawn as ${HTS}, partial (${aleppo.controller}, ${aleppo.status})`);
  await aleppo.node.click();
  const panel = page.locator("#place");
  await page.waitForFunction(() => document.querySelector("#place")?.dataset.placeId === "sy-aleppo");
  const details = await panel.textContent();
  check(details.includes(HTS) && details.includes("partial") && details.includes("2024-11-30"),
    "the panel names the controller, its status and since when");
  check(details.includes("Sheikh Maqsoud") && details.includes("AFP") && details.includes("Syrian Observatory"),
    "the panel says why (the parts held by others) and who claims it, citing whom");
  const legend = await page.locator("#legend").textContent();
  check(legend.includes(HTS) && legend.includes("partial"), "the legend explains colours and statuses");
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, "map.png") });

  // 26 November 2024, before the offensive: the government's.
  await slideTo(page, "2024-11-26");
  aleppo = await marker(page, "Aleppo");
  check(aleppo.controller === GOVERNMENT, `on 26 Nov 2024 Aleppo is drawn as the ${GOVERNMENT}'s`);
  await page.waitForFunction((name) => document.querySelector("#place .controller")?.textContent.includes(name), GOVERNMENT);
  check(true, "the open panel follows the slider");

  // Known at: on the morning of 1 Dec, before the article at noon, nobody knew Aleppo had fallen.
  await slideTo(page, "2024-12-01");
  const loads = await page.evaluate(() => Number(document.body.dataset.loads));
  await page.locator("#known-at").fill("2024-12-01T11:59");
  await page.waitForFunction((n) => Number(document.body.dataset.loads) > n, loads);
  await settled(page);
  aleppo = await marker(page, "Aleppo");
  check(aleppo.controller === GOVERNMENT, "known at 1 Dec 2024 11:59 UTC, Aleppo is still the government's");
  await page.locator("#known-now").click();
  await page.waitForFunction((name) =>
    document.querySelector('#map g.place[data-name="Aleppo"]')?.dataset.controller === name, HTS);
  check(true, "known now, it is HTS's again");

  // Latest, live: an event published now reaches the map without a reload.
  await page.locator("#at").press("End");
  await settled(page);
  await page.waitForFunction(() => document.querySelector("#live")?.textContent === "live", null, { timeout: 20000 });
  await page.evaluate(() => { window.sitrepNotReloaded = true; });
  const before = await marker(page, "Hama");
  const now = new Date();
  const id = `e2e-map-hama-${now.getTime()}`;
  await publish({
    id,
    type: "control.changed",
    occurred_at: now.toISOString().slice(0, 10),
    reported_at: now.toISOString(),
    source: { name: "Sitrep map e2e test", kind: "other" },
    location: { name: "Hama", country: "SY" },
    data: { controller: HTS, method: "captured" },
  });
  await page.waitForFunction((name) =>
    document.querySelector('#map g.place[data-name="Hama"]')?.dataset.controller === name, HTS, { timeout: 30000 });
  check(await page.evaluate(() => window.sitrepNotReloaded === true),
    `Hama went from ${before.controller} to ${HTS} on the open page, without a reload`);
  await page.locator('#map g.place[data-name="Hama"]').click();
  await page.waitForFunction((eventId) => document.querySelector("#place")?.dataset.placeId === "sy-hama", id);
  await page.screenshot({ path: join(ARTIFACTS, "map-live.png") });
  check(offsite.length === 0, `nothing was requested from another host (${offsite.join(", ")})`);
} catch (error) {
  failures.push(error.stack || String(error));
} finally {
  await browser.close();
}
if (failures.length) {
  console.error(failures.join("\n"));
  process.exit(1);
}
