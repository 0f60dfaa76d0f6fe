// Loads every page of the built book in headless Chromium, in the light and
// the dark (navy) theme, and fails if an image did not load (naturalWidth 0)
// or the page logged a console error or threw. With SCREENSHOTS=DIR it also
// saves a full-page screenshot of every page in both themes.
//
// On pages with a heap stepper (src/js/stepper.js) it also plays every trace
// with the keyboard, at 1280 px and at 375 px wide: a step forward changes the
// drawing and the counters, a step back restores them, and the last step shows
// exactly the final state the recording (imgs/stepper-*.json) holds. A trace
// opens at the recording's "start" step, its setup a step back away; the
// operations list marks the recording's "marks"; the live line has one line
// per heap, each starting with the allocator's name; and headers and footers
// are drawn in clearly different colours.
//
// Usage: node browser_check.mjs BASE_URL PAGE...   (pages relative to BASE_URL)
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const [base, ...pages] = process.argv.slice(2);
const shots = process.env.SCREENSHOTS;
if (shots) mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
let failures = 0;

// What a stepper shows now: its drawing and its counters.
async function stepperState(root) {
  return root.$eval(".hs-panels", (p) => ({
    drawing: [...p.querySelectorAll("svg")].map((svg) => svg.innerHTML).join("\n"),
    counters: [...p.querySelectorAll(".hs-counters")].map((c) => c.textContent).join(" | "),
    parts: [...p.querySelectorAll("svg")].map((svg) =>
      [...svg.querySelectorAll(".hs-seg")].map((r) => r.getAttribute("data-part")).join(" ")),
  }));
}

// Colour distance between two computed CSS colours (rgb(r, g, b)).
function colourDistance(a, b) {
  const rgb = (c) => (c.match(/\d+(\.\d+)?/g) || []).slice(0, 3).map(Number);
  const [x, y] = [rgb(a), rgb(b)];
  return Math.hypot(x[0] - y[0], x[1] - y[1], x[2] - y[2]);
}

// Plays every trace of every stepper on the page; returns what went wrong.
// `fresh`: the page was just loaded, so the first trace is at its start.
async function checkSteppers(page, fresh) {
  const errors = [];
  try {
    await page.waitForSelector(".heap-stepper.hs-ready", { timeout: 5000 });
  } catch {
    return ["never became ready (recordings not loaded?)"];
  }
  const roots = await page.$$(".heap-stepper");
  for (const [n, root] of roots.entries()) {
    const files = (await root.getAttribute("data-traces")).split(/\s+/).filter(Boolean);
    // The drawing is redrawn for a new width by a ResizeObserver, a frame or
    // two after the viewport changes: give it a moment.
    const fits = await page
      .waitForFunction((r) => r.scrollWidth <= r.clientWidth + 1, root, { timeout: 3000 })
      .then(() => true, () => false);
    if (!fits) errors.push(`stepper ${n} is wider than its box`);
    for (const [t, file] of files.entries()) {
      const where = `stepper ${n}, ${file}`;
      const select = await root.$("select");
      if (select) await select.selectOption(String(t));
      const json = await page.evaluate(async (f) => (await fetch(f)).json(), file);
      const last = json.ops.length;
      const opening = json.start || 0;
      const atOpening = select || fresh;
      if (atOpening) {
        const opened = await root.$eval(".hs-position", (e) => e.textContent);
        if (opened !== `step ${opening} / ${last}`) errors.push(`${where}: opens at "${opened}", not at step ${opening}`);
      }
      const marked = await root.$$eval(".hs-ops li.hs-mark", (lis) => lis.length);
      if (marked !== (json.marks || []).length) errors.push(`${where}: ${marked} operations marked, the recording has ${(json.marks || []).length}`);
      await root.focus();
      if (opening > 0 && atOpening) {
        // The setup is a step back away: Home, then forward to the opening
        // step again, draws what the stepper opened with.
        const here = await stepperState(root);
        await page.keyboard.press("ArrowLeft");
        const setup = await root.$eval(".hs-position", (e) => e.textContent);
        if (setup !== `step ${opening - 1} / ${last}`) errors.push(`${where}: a step back from the opening shows "${setup}"`);
        await page.keyboard.press("Home");
        for (let i = 0; i < opening; i++) await page.keyboard.press("ArrowRight");
        const again = await stepperState(root);
        if (again.drawing !== here.drawing) errors.push(`${where}: stepping to step ${opening} does not redraw the opening state`);
      }
      await page.keyboard.press("Home");
      const start = await stepperState(root);
      await page.keyboard.press("ArrowRight");
      const next = await stepperState(root);
      if (next.drawing === start.drawing) errors.push(`${where}: a step forward left the drawing as it was`);
      if (next.counters === start.counters) errors.push(`${where}: a step forward left the counters as they were`);
      const said = await root.$eval(".hs-say", (e) => e.textContent);
      if (!said.includes(json.ops[0])) errors.push(`${where}: the live line does not say "${json.ops[0]}"`);
      const lines = await root.$$eval(".hs-say .hs-say-line", (ps) => ps.map((p) => p.textContent));
      const names = json.runs.map((r) => r.allocator);
      if (lines.length !== names.length || !lines.every((l, i) => l.startsWith(names[i] + ":"))) {
        errors.push(`${where}: the live line is not one line per heap, each named: ${JSON.stringify(lines)}`);
      }
      await page.keyboard.press("ArrowLeft");
      const back = await stepperState(root);
      if (back.drawing !== start.drawing || back.counters !== start.counters) {
        errors.push(`${where}: a step back did not restore the first state`);
      }
      await page.keyboard.press("End");
      const end = await stepperState(root);
      const finals = json.runs.map((r) => r.frames[r.frames.length - 1]);
      const want = finals.map((f) => `live payload ${f.live} B` + `heap ${f.heap} B`);
      const got = end.counters.split(" | ").map((c) => c.replace(/utilization.*$/, ""));
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        errors.push(`${where}: last step shows ${JSON.stringify(got)}, the recording ${JSON.stringify(want)}`);
      }
      const parts = finals.map((f) => f.segments.map((s) => s[2]).join(" "));
      if (JSON.stringify(end.parts) !== JSON.stringify(parts)) {
        errors.push(`${where}: the last step's blocks differ from the recording's final state`);
      }
      const position = await root.$eval(".hs-position", (e) => e.textContent);
      if (position !== `step ${json.ops.length} / ${json.ops.length}`) errors.push(`${where}: at the end, "${position}"`);
    }
    // Headers and footers, where drawn, are told apart by colour.
    const fills = await root.$eval(".hs-legend", (l) => {
      const fill = (p) => { const r = l.querySelector("rect.hs-" + p); return r && getComputedStyle(r).fill; };
      return [fill("header"), fill("footer")];
    });
    if (fills[0] && fills[1] && colourDistance(fills[0], fills[1]) < 100) {
      errors.push(`stepper ${n}: header (${fills[0]}) and footer (${fills[1]}) look alike`);
    }
    // Keys stay in the stepper: the page did not turn.
    await page.keyboard.press("Home");
  }
  return errors;
}
const outside = [];
for (const theme of ["light", "navy"]) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  // CI has no network. The one outside request a page makes is mdBook's
  // question to the Rust playground, which crates it has (to decide which
  // code blocks get a Run button): answer it as the playground would for the
  // crates the book uses. Anything else leaving the machine is a bug.
  await context.route((url) => url.hostname !== "127.0.0.1", (route) => {
    if (route.request().url() === "https://play.rust-lang.org/meta/crates") {
      return route.fulfill({ json: { crates: [{ name: "libc", version: "0.2", id: "libc" }] } });
    }
    outside.push(route.request().url());
    return route.abort();
  });
  // mdBook reads the theme from localStorage before the page paints.
  await context.addInitScript((t) => localStorage.setItem("mdbook-theme", JSON.stringify(t)), theme);
  for (const path of pages) {
    const page = await context.newPage();
    const errors = [];
    page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
    page.on("pageerror", (e) => errors.push(String(e)));
    const response = await page.goto(new URL(path, base).href, { waitUntil: "load" });
    if (!response || !response.ok()) errors.push(`HTTP ${response && response.status()}`);
    const images = await page.$$eval("img", (imgs) =>
      imgs.map((i) => ({ src: i.getAttribute("src"), ok: i.complete && i.naturalWidth > 0 })));
    for (const img of images.filter((i) => !i.ok)) errors.push(`image did not load: ${img.src}`);
    const applied = await page.evaluate(() => document.documentElement.className);
    if (!applied.includes(theme)) errors.push(`theme ${theme} not applied (html class: ${applied})`);
    if (await page.$(".heap-stepper")) {
      for (const width of [1280, 375]) {
        await page.setViewportSize({ width, height: 900 });
        for (const e of await checkSteppers(page, width === 1280)) errors.push(`stepper at ${width} px: ${e}`);
      }
      await page.setViewportSize({ width: 1280, height: 900 });
    }
    if (shots) {
      await page.screenshot({ path: `${shots}/${path.replace(/[\/.]/g, "_")}-${theme}.png`, fullPage: true });
    }
    console.log(`${errors.length ? "FAIL" : "ok  "} ${theme.padEnd(5)} ${path} (${images.length} images)`);
    for (const e of errors) console.log(`     ${e}`);
    failures += errors.length ? 1 : 0;
    await page.close();
  }
  await context.close();
}
await browser.close();
for (const url of new Set(outside)) { console.log(`request to the outside world: ${url}`); failures += 1; }
console.log(`${failures ? "browser check failed" : "browser check passed"}: ${pages.length} pages x 2 themes`);
process.exit(failures ? 1 : 0);
