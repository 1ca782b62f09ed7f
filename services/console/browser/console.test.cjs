// The console in a real browser: Debian's Chromium driven by playwright-core (no browser
// download), signed in as each demo role, every page opened, the variance upload and an
// exception report submitted, a screenshot of each page, and axe-core run in the page: any
// WCAG 2.2 A/AA violation fails the run. Also fails on any Content Security Policy violation.
//
//   CONSOLE_URL=http://127.0.0.1:8080 node services/console/browser/console.test.cjs
//
// Environment: CONSOLE_URL (required), CHROMIUM (default /usr/bin/chromium), SCREENSHOTS
// (default target/console-screenshots), DOCS_SCREENSHOTS (a directory: also write the README's
// three screenshots there).
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { chromium } = require("playwright-core");
const axeSource = fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

const base = process.env.CONSOLE_URL;
if (!base) throw new Error("CONSOLE_URL is required");
const shots = process.env.SCREENSHOTS || "target/console-screenshots";
const docs = process.env.DOCS_SCREENSHOTS || "";
fs.mkdirSync(shots, { recursive: true });
if (docs) fs.mkdirSync(docs, { recursive: true });

const PLAN = "LAMBETH-LIVING-2026-2028";
const WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"];
let checked = 0;
const failures = [];

async function check(page, name, { status } = {}) {
  const title = await page.title();
  // axe-core evaluated over the DevTools protocol: the page's CSP (no script) stays in force.
  await page.evaluate(axeSource);
  const result = await page.evaluate(
    (tags) => window.axe.run(document, { runOnly: { type: "tag", values: tags } }),
    WCAG,
  );
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
  checked += 1;
  for (const v of result.violations) {
    failures.push(`${name}: ${v.id} (${v.impact}) ${v.help}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  }
  console.log(`ok ${checked} ${name} – "${title}" – ${result.violations.length} violations, ${result.passes.length} rules passed`);
  if (status && page.lastStatus !== status) failures.push(`${name}: HTTP ${page.lastStatus}, expected ${status}`);
}

async function open(page, url) {
  const res = await page.goto(base + url, { waitUntil: "load" });
  page.lastStatus = res ? res.status() : 0;
  return res;
}

// One persistent context on a fresh profile directory; each user starts with no cookies.
async function fresh(browser) {
  await browser.clearCookies();
  const page = await browser.newPage();
  const context = { close: () => page.close() };
  return { context, page };
}

async function signIn(browser, organisation, role) {
  const { context, page } = await fresh(browser);
  page.on("console", (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) failures.push(`CSP: ${m.text()}`);
  });
  page.on("response", (r) => {
    if (r.request().isNavigationRequest()) page.lastStatus = r.status();
  });
  await open(page, "/sign-in");
  await page.selectOption("#organisation", organisation);
  await page.check(`input[name=role][value=${role}]`);
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  const body = await page.textContent("main");
  if (!body.includes("Signed in as")) throw new Error(`sign-in as ${role}@${organisation} failed: ${body}`);
  return { context, page };
}

function expect(cond, message) {
  if (!cond) failures.push(message);
}

async function main() {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "almo-console-chromium-"));
  const browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1280, height: 900 },
    locale: "en-GB",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  try {
    // The sign-in page itself.
    {
      const { context, page } = await fresh(browser);
      await open(page, "/sign-in");
      await check(page, "sign-in");
      await context.close();
    }

    // Council officer: plans, the dashboard, amendments, the variance upload.
    {
      const { context, page } = await signIn(browser, "E09000022", "council_officer");
      await check(page, "council-officer-home");
      await open(page, "/plans");
      expect((await page.textContent("main")).includes(PLAN), "the council officer's plans list lacks the Lambeth plan");
      await check(page, "council-officer-plans");
      await open(page, `/plans/${PLAN}`);
      await check(page, "council-officer-plan-dashboard");
      if (docs) await page.screenshot({ path: path.join(docs, "plan-dashboard.png"), fullPage: true });
      await open(page, `/plans/${PLAN}/amendments`);
      await check(page, "council-officer-amendments");
      await open(page, `/plans/${PLAN}/variances`);
      await check(page, "council-officer-variance-form");
      const csv = path.join(userDataDir, "variances.csv");
      fs.writeFileSync(
        csv,
        "sender_record_id,target_code,year,period,actual,forecast,commentary\n" +
          // October's rent corrected (the demo's months run April to October 2026, and an
          // actual is only for a period that has ended), a month that does not exist, a target
          // that does not.
          "LBH-2026-M07-LOCAL-RENT,LOCAL-RENT,2026,M7,97.4,97.5,\"Browser test, October\"\n" +
          "BROWSER-M13-BAD,LOCAL-RENT,2026,M13,97.4,,\n" +
          "BROWSER-M07-NOPE,NO-SUCH-TARGET,2026,M7,1,,\n",
      );
      await page.setInputFiles("#file", csv);
      await Promise.all([page.waitForNavigation(), page.click("form[enctype] button[type=submit]")]);
      const result = await page.textContent("main");
      expect(/(Recorded|Corrections)\s*1/.test(result), `variance upload: expected one row recorded, got: ${result.slice(0, 400)}`);
      expect(result.includes("Refused lines"), "variance upload: refused lines not listed");
      await check(page, "council-officer-variance-result");
      // Another council's plan: refused with the service's reason, nothing of it shown.
      await context.close();
    }
    {
      const { context, page } = await signIn(browser, "E09000014", "council_officer");
      await open(page, "/plans");
      expect(!(await page.textContent("main")).includes(PLAN), "Haringey sees Lambeth's plan");
      await check(page, "other-council-plans");
      await open(page, `/plans/${PLAN}`);
      expect(page.lastStatus === 403 || page.lastStatus === 404, `Haringey opening Lambeth's plan: HTTP ${page.lastStatus}`);
      await check(page, "other-council-refused");
      await context.close();
    }

    // ALMO officer: the dashboard, an exception report refused then sent.
    {
      const { context, page } = await signIn(browser, "LAMBETH-LIVING", "almo_officer");
      await open(page, "/plans");
      await check(page, "almo-officer-plans");
      await open(page, `/plans/${PLAN}`);
      const form = page.locator("form[action$='/report']").first();
      await form.locator("button[type=submit]").click();
      await page.waitForLoadState("load");
      expect((await page.textContent("main")).includes("There is a problem"), "an empty exception report was not refused in the error summary");
      await check(page, "almo-officer-exception-refused");
      const again = page.locator("form[action$='/report']").first();
      await again.locator("textarea[name=cause]").fill("The voids contractor went into administration in October.");
      await again.locator("textarea[name=recovery_action]").fill("A new contractor starts in January; relets are prioritised by age.");
      await again.locator("input[name=recovery_date]").fill("2027-03-31");
      await Promise.all([page.waitForNavigation(), again.locator("button[type=submit]").click()]);
      expect((await page.textContent("main")).includes("Exception report sent"), "the exception report was not confirmed");
      await check(page, "almo-officer-exception-sent");
      await open(page, `/plans/${PLAN}/amendments`);
      await check(page, "almo-officer-amendments");
      await context.close();
    }

    // Finance: invoices and one invoice.
    for (const [org, role] of [["LAMBETH-LIVING", "almo_finance"], ["E09000022", "council_finance"]]) {
      const { context, page } = await signIn(browser, org, role);
      await open(page, "/invoices");
      await check(page, `${role}-invoices`);
      const first = page.locator("main table a").first();
      expect((await first.count()) > 0, `${role}: no invoices listed`);
      if ((await first.count()) > 0) {
        await Promise.all([page.waitForNavigation(), first.click()]);
        await check(page, `${role}-invoice`);
      }
      await open(page, "/agreements");
      await check(page, `${role}-agreements`);
      await context.close();
    }

    // Regulator: the benchmark (higher and lower is better) and outstanding returns.
    {
      const { context, page } = await signIn(browser, "RSH", "regulator");
      await open(page, "/benchmark");
      expect((await page.textContent("main")).includes("higher is better"), "benchmark: no direction");
      await check(page, "regulator-benchmark");
      if (docs) await page.locator("figure.chart").screenshot({ path: path.join(docs, "quartile-chart.png") });
      await open(page, "/benchmark?indicator=old+BVPI+68&year=2001%2F02&group=district&highlight=E07000178");
      await check(page, "regulator-benchmark-lower-is-better");
      await open(page, "/benchmark?indicator=BVPI+66a&year=not-a-year&group=district&highlight=E07000178");
      expect((await page.textContent("main")).includes("There is a problem"), "benchmark: a bad year is not in the error summary");
      await check(page, "regulator-benchmark-bad-year");
      await open(page, "/management-models");
      expect((await page.textContent("main")).includes("ALMO better"), "management models: no verdict");
      await check(page, "regulator-management-models");
      await open(page, "/management-models?year=not-a-year");
      expect((await page.textContent("main")).includes("There is a problem"), "management models: a bad year is not in the error summary");
      await check(page, "regulator-management-models-bad-year");
      await open(page, "/returns/outstanding");
      await check(page, "regulator-outstanding");
      const ret = page.locator("main a[href^='/return?id=']").first();
      expect((await ret.count()) > 0, "outstanding returns: no return to open");
      if ((await ret.count()) > 0) {
        await Promise.all([page.waitForNavigation(), ret.click()]);
        await check(page, "regulator-return");
      }
      await context.close();
    }

    // Inspectorate: the calendar and the slot finder.
    {
      const { context, page } = await signIn(browser, "HOUSING-INSPECTORATE", "inspectorate");
      await open(page, "/calendar");
      expect((await page.textContent("main")).includes("On site"), "calendar: no on-site week shown");
      await check(page, "inspectorate-calendar");
      if (docs) await page.screenshot({ path: path.join(docs, "calendar.png"), fullPage: true });
      await open(page, "/inspections/LAMBETH-LIVING-2008-11-03");
      expect((await page.textContent("main")).includes("Publication window"), "inspection: no window");
      await check(page, "inspectorate-inspection");
      await open(page, "/slots?almo=NOTTINGHAM-CITY-HOMES&start=2027-01-04&end=2027-03-29");
      expect((await page.textContent("main")).includes("Ruled out") || (await page.textContent("main")).includes("Feasible"), "slot finder: no weeks");
      await check(page, "inspectorate-slots");
      await context.close();
    }
  } finally {
    await browser.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
  for (const f of failures) console.log(`FAIL ${f}`);
  console.log(`${checked - new Set(failures.map((f) => f.split(":")[0])).size} passed, ${failures.length} failed`);
  process.exit(failures.length ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
