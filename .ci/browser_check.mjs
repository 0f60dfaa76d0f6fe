// Loads every page of the built book in headless Chromium, in the light and
// the dark (navy) theme, and fails if an image did not load (naturalWidth 0)
// or the page logged a console error or threw. With SCREENSHOTS=DIR it also
// saves a full-page screenshot of every page in both themes.
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
const outside = [];
for (const theme of ["light", "navy"]) {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
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
