/**
 * The operator's view of connection health, driven through the real server: halls joined
 * through the protocol send their browsers' figures (`stats:report`) and one drops. The
 * operator's table shows each hall's level in words and colour with its figures and a
 * sparkline, and a push leaves the rows of halls whose health held still untouched (mutations
 * counted); a hall that gets worse raises an alert that stays, recovered or not, until
 * acknowledged, counted in the tab's title, with a beep only when the operator asked for it;
 * a click on a hall opens its last hour (`health:history`), closed with Esc or its button.
 */
import type { Browser, Page } from 'playwright-core';
import { type Participant, participant } from '../helpers/conferenceClient';
import { docScreenshot, launchBrowser, openPage } from '../helpers/browser';
import { type TestServer, startTestServer } from '../helpers/testServer';
import { waitFor } from '../helpers/waitFor';

jest.setTimeout(120_000);

const HD = { width: 1920, height: 1080 };
let server: TestServer;
let browser: Browser;
let operator: Page;
let halls: { code: string; name: string }[];
/** a: its figures change; b: drops; c: steady. */
let a: { code: string; name: string };
let b: { code: string; name: string };
let c: { code: string; name: string };
const joined = new Map<string, Participant>();
/** What each hall's browser reports every second, changed by the tests. */
const reports = new Map<string, Record<string, number>>();
let reporter: NodeJS.Timeout | undefined;

const GOOD = { sendKbps: 900, recvKbps: 2500, fps: 25, freezes: 0, audioLevel: 0.2, rttMs: 40 };
/** A round trip past the config's "poor" threshold (800 ms). */
const SLOW = { ...GOOD, rttMs: 1200 };

/** Saves a screenshot (test-artifacts) and puts a copy beside the README's images. */
async function shot(name: string): Promise<void> {
  await docScreenshot(operator, name);
}

const row = (code: string) => operator.locator(`#rows tr[data-site="${code}"]`);
const healthOf = (code: string) => row(code).getAttribute('data-health');

/** Waits for the page to have seen `n` more health pushes. */
async function pushes(n: number): Promise<void> {
  const start = await operator.evaluate(() => (window as unknown as { healthPushes: number }).healthPushes);
  await waitFor(`${n} health pushes`, () =>
    operator.evaluate(
      (want) => (window as unknown as { healthPushes: number }).healthPushes >= want,
      start + n,
    ),
  );
}

beforeAll(async () => {
  server = await startTestServer({ health: { sampleSec: 2 } });
  browser = await launchBrowser();
  operator = (await openPage(browser, `${server.url}/operator#t=${server.token('operator')}`, HD)).page;
  await waitFor('the operator to join', () =>
    operator.evaluate(() =>
      Boolean((window as unknown as { hoinghi?: { store?: { joined?: unknown } } }).hoinghi?.store?.joined),
    ),
  );
  // Counts the pushes the page's controller hears.
  await operator.evaluate(() => {
    const w = window as unknown as {
      healthPushes: number;
      hoinghi: { client: { on(e: string, fn: () => void): void } };
    };
    w.healthPushes = 0;
    w.hoinghi.client.on('health', () => (w.healthPushes += 1));
  });
  halls = await operator.evaluate(() =>
    (
      window as unknown as { hoinghi: { store: { halls: { code: string; name: string }[] } } }
    ).hoinghi.store.halls.map((h) => ({ code: h.code, name: h.name })),
  );
  [a, b, c] = [halls[3], halls[7], halls[12]] as [typeof a, typeof a, typeof a];
  for (const h of [a, b, c]) {
    joined.set(h.code, await participant(server, h.code));
    reports.set(h.code, GOOD);
  }
  const report = () => {
    for (const [code, p] of joined) void p.send('stats:report', reports.get(code)).catch(() => undefined);
  };
  report();
  reporter = setInterval(report, 1000);
});

afterAll(async () => {
  clearInterval(reporter);
  for (const p of joined.values()) p.close();
  await browser?.close();
  await server?.stop();
});

describe("the operator's table", () => {
  it("shows every hall's level in words and colour, its figures and a sparkline", async () => {
    await waitFor(
      'the joined halls good with their figures, the others lost',
      async () => {
        const levels = await operator.$$eval('#rows tr', (rows) =>
          rows.map((r) => [(r as HTMLElement).dataset.site, (r as HTMLElement).dataset.health]),
        );
        const fps = await row(c.code).locator('[data-fig="fps"] .fig-value').innerText();
        return (
          levels.length === 63 &&
          levels.every(([code, level]) =>
            [a.code, b.code, c.code].includes(code as string) ? level === 'good' : level === 'lost',
          ) &&
          fps === '25'
        );
      },
      {
        timeoutMs: 20_000,
        missing: () =>
          operator.$$eval('#rows tr', (rows) =>
            rows
              .slice(0, 14)
              .map((r) => `${(r as HTMLElement).dataset.site}:${(r as HTMLElement).dataset.health}`),
          ),
      },
    );
    // In words (Vietnamese first), and in colour: never colour alone.
    await expect(row(c.code).locator('td.health').innerText()).resolves.toBe('Tốt');
    const lost = halls[0] as { code: string };
    await expect(row(lost.code).locator('td.health').innerText()).resolves.toBe('Mất kết nối');
    const colour = (code: string) =>
      row(code)
        .locator('td.health')
        .evaluate((td) => getComputedStyle(td).color);
    expect(await colour(c.code)).not.toBe(await colour(lost.code));
    // The browser's figures: its round trip and frames per second; a lost hall's are dashes.
    await expect(row(c.code).locator('[data-fig="rtt"] .fig-value').innerText()).resolves.toBe('40');
    await expect(row(lost.code).locator('[data-fig="fps"] .fig-value').innerText()).resolves.toBe('—');
    // Each figure is named for a screen reader; the sparkline is inline SVG in a button.
    await expect(row(c.code).locator('[data-fig="fps"]').innerText()).resolves.toMatch(/25/);
    await expect(row(c.code).locator('[data-fig="fps"] .visually-hidden').textContent()).resolves.toBe(
      'Khung hình/giây: ',
    );
    const spark = row(c.code).locator('button[data-health-detail] svg.spark');
    await expect(spark.getAttribute('role')).resolves.toBe('img');
    await expect(
      row(c.code).locator('button[data-health-detail]').getAttribute('aria-label'),
    ).resolves.toContain(c.name);
    // No alerts from what the page saw first: the halls that never came are not news.
    await expect(operator.locator('#health-alert-list li').count()).resolves.toBe(0);
    await expect(operator.locator('#health-alert-count').innerText()).resolves.toBe('0');
    await shot('operator-health-table');
  });

  it('fits the screen: one line a hall at 1920×1080, no sideways scrolling at 1366×768 either', async () => {
    for (const size of [HD, { width: 1366, height: 768 }]) {
      await operator.setViewportSize(size);
      const { scroll, tallest } = await operator.evaluate(() => ({
        scroll: document.documentElement.scrollWidth - innerWidth,
        tallest: Math.max(
          ...Array.from(document.querySelectorAll('#rows tr'), (r) => r.getBoundingClientRect().height),
        ),
      }));
      expect({ size, scroll }).toEqual({ size, scroll: 0 });
      if (size === HD) expect(tallest).toBeLessThan(45);
    }
    await operator.setViewportSize(HD);
  });

  it('a push leaves the rows of halls whose health held still untouched', async () => {
    // The joined halls' sparklines have two samples at least: a line, no longer a dot.
    await pushes(2);
    await operator.evaluate(() => {
      const w = window as unknown as { mutated: string[]; observer?: MutationObserver };
      w.mutated = [];
      w.observer = new MutationObserver((records) => {
        for (const r of records) {
          const node = r.target instanceof Element ? r.target : r.target.parentElement;
          w.mutated.push(node?.closest<HTMLElement>('[data-site]')?.dataset.site ?? '(outside any hall)');
        }
      });
      w.observer.observe(document.getElementById('rows') as Node, {
        subtree: true,
        childList: true,
        attributes: true,
        characterData: true,
      });
    });
    await pushes(3);
    const mutated = await operator.evaluate(() => {
      const w = window as unknown as { mutated: string[]; observer: MutationObserver };
      w.observer.takeRecords();
      w.observer.disconnect();
      return [...new Set(w.mutated)];
    });
    // 60 halls not connected (the same level, no figures) and three steady ones (the same
    // figures, so the same sparkline): nothing changes in the table.
    expect(mutated).toEqual([]);
  });
});

describe('alerts', () => {
  const alert = (code: string) => operator.locator(`#health-alert-list li[data-alert-site="${code}"]`);

  it('a hall that gets worse raises an alert (level, reasons, time) that stays, recovered, until acknowledged', async () => {
    const title = await operator.title();
    reports.set(a.code, SLOW);
    await waitFor('the alert for the slow hall', () => alert(a.code).count(), {
      missing: () => healthOf(a.code),
    });
    await expect(healthOf(a.code)).resolves.toBe('poor');
    await expect(row(a.code).locator('td.health').innerText()).resolves.toBe('Kém');
    await expect(row(a.code).locator('[data-fig="rtt"] .fig-value').innerText()).resolves.toMatch(
      /^1[.,]?200$/,
    );
    await expect(alert(a.code).locator('.alert-site').innerText()).resolves.toBe(a.name);
    await expect(alert(a.code).locator('.alert-level').innerText()).resolves.toBe('Kém');
    await expect(alert(a.code).locator('.alert-reasons').innerText()).resolves.toBe('độ trễ khứ hồi cao');
    await expect(alert(a.code).locator('time').innerText()).resolves.toMatch(/^\d\d:\d\d:\d\d$/);
    await expect(operator.title()).resolves.toBe(`(1) ${title}`);
    // It recovers: the alert stays, and says so.
    reports.set(a.code, GOOD);
    await waitFor('the alert to say the hall recovered', async () =>
      /^Đã phục hồi lúc \d\d:\d\d:\d\d$/.test(await alert(a.code).locator('.alert-state').innerText()),
    );
    await expect(healthOf(a.code)).resolves.toBe('good');
    await pushes(2);
    await expect(alert(a.code).count()).resolves.toBe(1);
    await shot('operator-health-alert');
    // Acknowledged: gone, and the title says no more.
    await alert(a.code)
      .getByRole('button', { name: `Xác nhận cảnh báo của ${a.name}` })
      .click();
    await expect(alert(a.code).count()).resolves.toBe(0);
    await expect(operator.title()).resolves.toBe(title);
    await expect(operator.locator('#health-no-alerts').isVisible()).resolves.toBe(true);
  });

  it('a hall that drops is lost and first by trouble; "acknowledge all" clears every alert', async () => {
    const title = await operator.title();
    (joined.get(b.code) as Participant).close();
    joined.delete(b.code);
    reports.set(a.code, SLOW);
    await waitFor('alerts for the dropped hall and the slow one', async () =>
      (await alert(b.code).count()) && (await alert(a.code).count()) ? true : undefined,
    );
    await expect(alert(b.code).locator('.alert-level').innerText()).resolves.toBe('Mất kết nối');
    await expect(alert(b.code).locator('.alert-reasons').innerText()).resolves.toMatch(
      /mất phiên kết nối|mất tín hiệu điều khiển/,
    );
    await expect(row(b.code).locator('td.health').innerText()).resolves.toBe('Mất kết nối');
    await expect(operator.title()).resolves.toBe(`(2) ${title}`);
    // Sorted by trouble: every lost hall, then the poor one, then the good one.
    await operator.click('button[data-sort="health"]');
    const order = await operator.$$eval('#rows tr', (rows) =>
      rows.map((r) => [(r as HTMLElement).dataset.site, (r as HTMLElement).dataset.health]),
    );
    const levels = order.map(([, level]) => level);
    expect(levels.slice(0, 61)).toEqual(Array(61).fill('lost'));
    expect(order[61]).toEqual([a.code, 'poor']);
    expect(order[62]).toEqual([c.code, 'good']);
    await operator.click('button[data-sort="health"]');
    await expect(operator.locator('#rows tr').first().getAttribute('data-site')).resolves.toBe(c.code);
    await operator.click('button[data-sort="name"]');
    reports.set(a.code, GOOD);
    await operator.click('#health-ack-all');
    await expect(operator.locator('#health-alert-list li').count()).resolves.toBe(0);
    await expect(operator.locator('#health-ack-all').isDisabled()).resolves.toBe(true);
    await expect(operator.title()).resolves.toBe(title);
  });

  it('beeps only when the operator asked for it, and remembers the choice', async () => {
    const beeps = () =>
      operator.evaluate(
        () => (window as unknown as { hoinghi: { alerts: { beeps: number } } }).hoinghi.alerts.beeps,
      );
    // Alerts came and went above without a sound: not asked for.
    await expect(beeps()).resolves.toBe(0);
    await operator.getByLabel('Báo âm thanh').check();
    // A first beep at once, so the operator hears that the speakers work.
    await expect(beeps()).resolves.toBe(1);
    reports.set(c.code, SLOW);
    await waitFor('the beep for a new alert', async () => ((await beeps()) >= 2 ? true : undefined));
    await expect(alert(c.code).count()).resolves.toBe(1);
    reports.set(c.code, GOOD);
    await operator.reload();
    await waitFor('the page back', () =>
      operator.evaluate(() =>
        Boolean((window as unknown as { hoinghi?: { store?: { joined?: unknown } } }).hoinghi?.store?.joined),
      ),
    );
    await expect(operator.locator('#health-sound').isChecked()).resolves.toBe(true);
    await operator.getByLabel('Báo âm thanh').uncheck();
    await expect(operator.evaluate(() => localStorage.getItem('hoinghi.healthSound'))).resolves.toBe('0');
  });
});

describe("a hall's last hour", () => {
  it('opens from its row with the history, the times it was not good and why; Esc closes it', async () => {
    const dialog = operator.locator('#health-detail');
    await row(b.code).locator('td.name').click();
    await expect(dialog.isVisible()).resolves.toBe(true);
    await expect(operator.locator('#health-detail-title').textContent()).resolves.toBe(
      `Kết nối của ${b.name} trong 1 giờ qua`,
    );
    // The focus is in the dialog, on its close button.
    await expect(operator.evaluate(() => document.activeElement?.id)).resolves.toBe('health-detail-close');
    await waitFor('the history', () => operator.locator('#health-detail-charts svg.chart').count());
    await expect(operator.locator('#health-detail-charts svg.chart').count()).resolves.toBe(3);
    await expect(operator.locator('#health-detail-status').innerText()).resolves.toMatch(
      /^\d+ lần đo trong 1 giờ qua\.$/,
    );
    // Charts drawn: the bit rates while it was connected, a band where it was lost.
    await expect(operator.locator('#health-detail-charts .band-lost').count()).resolves.toBeGreaterThan(0);
    await expect(
      operator.locator('#health-detail-charts svg.chart').first().getAttribute('aria-label'),
    ).resolves.toMatch(/^Biểu đồ Tốc độ, kbit\/s từ/);
    const lost = operator.locator('#health-detail-problems li[data-level="lost"]').first();
    await expect(lost.innerText()).resolves.toMatch(
      /^\d\d:\d\d:\d\d(–\d\d:\d\d:\d\d)? Mất kết nối: (mất phiên kết nối|mất tín hiệu điều khiển)/,
    );
    // Its level now, with the reasons and figures in words (from the next push, after the reload).
    await waitFor('the level now', async () =>
      /^Hiện tại: Mất kết nối từ \d\d:\d\d:\d\d\. Nguyên nhân: (mất phiên kết nối|mất tín hiệu điều khiển)\. Gửi lên /.test(
        await operator.locator('#health-detail-now').innerText(),
      ),
    );
    await shot('operator-health-detail');
    await operator.keyboard.press('Escape');
    await expect(dialog.isVisible()).resolves.toBe(false);
    // Back where it was opened from: the row's detail button.
    await expect(
      operator.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.healthDetail),
    ).resolves.toBe(b.code);
  });

  it("opens from a hall's sparkline button and closes with its own button", async () => {
    const dialog = operator.locator('#health-detail');
    // Left open by a failure above: that failure says what went wrong, not this one.
    if (await dialog.isVisible()) await operator.keyboard.press('Escape');
    const button = row(c.code).locator('button[data-health-detail]');
    await button.click();
    await expect(dialog.isVisible()).resolves.toBe(true);
    await waitFor('the history', () => operator.locator('#health-detail-charts svg.chart').count());
    // Its figures now in words, kept up to date while the panel is open.
    await waitFor('the hall good again', async () =>
      /^Hiện tại: Tốt từ \d\d:\d\d:\d\d\. Gửi lên/.test(
        await operator.locator('#health-detail-now').innerText(),
      ),
    );
    await dialog.getByRole('button', { name: 'Đóng' }).click();
    await expect(dialog.isVisible()).resolves.toBe(false);
    await expect(
      operator.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.healthDetail),
    ).resolves.toBe(c.code);
  });
});
