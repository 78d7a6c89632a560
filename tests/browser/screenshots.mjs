// The console's screenshots for the docs, taken by tests/browser/screenshots.sh
// in the server's namespace: each page at 1280x800, the nodes page at a
// phone's width. Environment: CONSOLE_URL, ADMIN_NAME, ADMIN_PASSWORD, OUT.
import puppeteer from 'puppeteer-core';

const env = process.env;
const browser = await puppeteer.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  acceptInsecureCerts: true, // the server's self-signed certificate
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-extensions'],
});
const shot = (page, name) => page.screenshot({ path: `${env.OUT}/console-${name}.png` });
const settle = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  await page.goto(`${env.CONSOLE_URL}/`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#login-form', { visible: true });
  await page.type('#login-name', env.ADMIN_NAME);
  await page.type('#login-password', env.ADMIN_PASSWORD);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#page-overview', { visible: true });
  // two load pushes (5 s apart): relay 0's rate over the last seconds
  await settle(11000);
  await shot(page, 'overview');
  for (const name of ['nodes', 'groups', 'keys', 'connections', 'events']) {
    await page.click(`header nav a[data-page="${name}"]`);
    await page.waitForSelector(`#page-${name}`, { visible: true });
    await settle(1500);
    await shot(page, name);
  }
  await page.click('header nav a[data-page="nodes"]');
  await page.setViewport({ width: 390, height: 844, isMobile: true });
  await settle(1000);
  await shot(page, 'nodes-phone');
} finally {
  await browser.close();
}
