/**
 * End-to-end: the foundation in real Chromium, once with JavaScript (htmx, hx-boost) and once without.
 * First-run setup, sign-out, a wrong and a right sign-in, language switch, one permission toggled in the
 * role matrix (and found in the action log), sign-out. The steps run in order and depend on each other.
 * Along the way no console error (CSP violations show up as such) and no failed or foreign request may occur.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN } from '../test-support/harness.ts';
import { startBrowserApp, type BrowserApp } from './browser.ts';

describe.each([true, false])('foundation in the browser, JavaScript %s', (js) => {
  let app: BrowserApp;
  let page: BrowserApp['page'];
  let base: string;
  beforeAll(async () => {
    app = await startBrowserApp(js);
    ({ page, base } = app);
  });
  afterAll(() => app?.close());

  const expectNoProblems = (expected?: RegExp[]) => app.expectNoProblems(expected);
  const shot = (step: string) => app.shot(step);
  const pathname = () => app.pathname();
  const clickTo: BrowserApp['clickTo'] = (...args) => app.clickTo(...args);
  const text = (selector: string) => page.locator(selector).innerText();

  it('1. first run: / leads to /setup, which creates the admin and signs them in', async () => {
    await page.goto(`${base}/`);
    expect(pathname()).toBe('/setup');
    expect(await page.getAttribute('html', 'lang')).toBe('cs');
    await expect(text('h1')).resolves.toBe('První spuštění');
    if (js) await page.waitForFunction(() => document.documentElement.classList.contains('js') && 'htmx' in window);
    await shot('1-setup');

    await page.fill('#f-name', ADMIN.name);
    await page.fill('#f-email', ADMIN.email);
    await page.fill('#f-password', ADMIN.password);
    await page.fill('#f-password2', ADMIN.password);
    await clickTo('form[action="/setup"] button[type=submit]', '/', page.locator('h1', { hasText: `Dobrý den, ${ADMIN.name}.` }), false);
    await expect(text('header .me')).resolves.toBe(ADMIN.name);
    await shot('1-home');
    expectNoProblems();
  });

  it('2. sign-out in the header leads to /login', async () => {
    await clickTo('header form[action="/logout"] button', '/login', page.getByText('Byli jste odhlášeni.'), false);
    expect(await page.locator('header .me').count()).toBe(0);
    await shot('2-signed-out');
    expectNoProblems();
  });

  it('3. a wrong password keeps the login page with an error and the e-mail filled in', async () => {
    await page.fill('#f-email', ADMIN.email);
    await page.fill('#f-password', 'tohle není moje heslo');
    const error = page.locator('[role=alert]', { hasText: 'Nesprávný e-mail nebo heslo.' });
    await clickTo('form[action="/login"] button[type=submit]', '/login', error, false);
    expect(await page.inputValue('#f-email')).toBe(ADMIN.email);
    expect(await page.inputValue('#f-password')).toBe('');
    await shot('3-wrong-password');
    // The 401 answer itself is reported by Chromium as a failed resource load; nothing else may be.
    expectNoProblems([/^console: Failed to load resource: the server responded with a status of 401/]);
  });

  it('4. the right password signs in and goes home', async () => {
    await page.fill('#f-password', ADMIN.password);
    await clickTo('form[action="/login"] button[type=submit]', '/', page.locator('h1', { hasText: `Dobrý den, ${ADMIN.name}.` }), false);
    await expect(text('header .me')).resolves.toBe(ADMIN.name);
    expectNoProblems();
  });

  // hx-boost swaps only the inside of <body>: a page's layout class must live inside it (on <main>).
  it('4b. the home page reached from the login page is laid out full width', async () => {
    expect(await page.getAttribute('main', 'class')).toBe('');
    expect((await page.locator('main').boundingBox())!.width).toBeGreaterThan(1000);
  });

  it('5. the EN button switches the interface to English', async () => {
    await clickTo('button[name=locale][value=en]', '/', page.locator('header nav a', { hasText: 'Overview' }), false);
    await expect(text('h1')).resolves.toBe(`Hello, ${ADMIN.name}.`);
    expect(await page.locator('button[name=locale][value=en]').isDisabled()).toBe(true);
    await expect(text('header form[action="/logout"] button')).resolves.toBe('Sign out');
    expect(await page.title()).toBe('Overview · Posel');
    await shot('5-english');
    expectNoProblems();
  });

  // hx-boost would keep <html lang> from the first page: the language switch is a full page load.
  it('5b. <html lang> follows the switch to English', async () => {
    expect(await page.getAttribute('html', 'lang')).toBe('en');
  });

  it('6. granting Viewer "messages.send" in the role matrix persists and is logged', async () => {
    await clickTo('header nav a[href="/settings"]', '/settings', page.locator('h1', { hasText: 'Administration' }));
    await clickTo('main a[href="/roles"]', '/roles', page.locator('h1', { hasText: 'Roles & permissions' }));
    const href = await page.locator('table.matrix thead a', { hasText: /^Viewer$/ }).getAttribute('href');
    const roleId = /^\/roles\/(\d+)$/.exec(href ?? '')?.[1];
    expect(roleId).toBeDefined();
    const box = `input[type=checkbox][value="${roleId}:messages.send"]`;
    expect(await page.isChecked(box)).toBe(false);

    if (js) {
      expect(await page.locator('.nojs-only button').isVisible()).toBe(false);
      await page.check(box);
      await page.locator('#matrix-status', { hasText: 'Role Viewer: granted “Send messages”.' }).waitFor();
      expect(await page.isChecked(box)).toBe(true); // the swapped-in cell
      await shot('6-toggled');
    } else {
      await page.check(box);
      await clickTo('.nojs-only button', '/roles', page.locator('.flash', { hasText: 'Permissions saved.' }));
      await shot('6-saved');
    }

    await page.goto(`${base}/roles`);
    expect(await page.isChecked(box)).toBe(true);
    // Nothing else in the viewer's column changed.
    expect(await page.isChecked(`input[type=checkbox][value="${roleId}:messages.resend"]`)).toBe(false);

    await page.goto(`${base}/audit`);
    const row = page.locator('table.audit tbody tr', { hasText: 'Permission granted' });
    await expect(row.count()).resolves.toBe(1);
    await expect(row.innerText()).resolves.toContain('messages.send');
    await expect(row.locator('td').nth(1).innerText()).resolves.toBe(ADMIN.name);
    await shot('6-audit');
    expectNoProblems();
  });

  it('7. signing out again ends the session', async () => {
    await clickTo('header form[action="/logout"] button', '/login', page.getByText('You have been signed out.'), false);
    await page.goto(`${base}/roles`);
    expect(pathname()).toBe('/login');
    expect(new URL(page.url()).searchParams.get('next')).toBe('/roles');
    await shot('7-signed-out');
    expectNoProblems();
  });
});
