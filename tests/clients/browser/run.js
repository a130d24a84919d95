// Opens the test page in Debian's chromium (headless, no browser download)
// and prints what the browser SDK reported, once the page has written it.
//   node run.js URL
const { chromium } = require('playwright-core');

(async () => {
  const [url] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForFunction(() => document.body.dataset.result, null, { timeout: 30000 });
    console.log(await page.evaluate(() => document.body.dataset.result));
  } finally {
    await browser.close();
  }
})().catch((e) => {
  console.error(e.message || e);
  process.exit(1);
});
