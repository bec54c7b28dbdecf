/**
 * The consoles with the whole roster: 63 halls in the state, 60 of them joined through the
 * protocol with their own credentials (a third publishing a microphone), three not connected.
 * The chair's panel shows every hall's name and state without scrolling at 1920×1080 and
 * legibly at 1366×768; a push that changes one hall changes only that hall's elements in the
 * chair's grid, the operator's table and the wall (mutations counted); the search finds
 * "Bà Rịa - Vũng Tàu" from "ba ria"; the operator filters and sorts; the wall is an 8×8 mosaic
 * of 64 named tiles that says which halls have no picture, and its kiosk mode survives a reload.
 */
import type { Browser, Page } from 'playwright-core';
import { type Participant, participant } from '../helpers/conferenceClient';
import { launchBrowser, openPage, pageCommand, screenshot } from '../helpers/browser';
import { type TestServer, startTestServer } from '../helpers/testServer';
import { waitFor } from '../helpers/waitFor';

jest.setTimeout(180_000);

const HD = { width: 1920, height: 1080 };
let server: TestServer;
let browser: Browser;
let chair: Page;
let operator: Page;
let wall: Page;
let halls: { code: string; name: string }[];
const joined = new Map<string, Participant>();
let offline: string[];
let waiting: string;

/** Hall codes and their states as a page's store sees them. */
const statuses = (page: Page) =>
  page.evaluate(() => {
    const w = window as unknown as {
      hoinghi: { store: { halls: { code: string }[]; status(c: string): string } };
    };
    return Object.fromEntries(w.hoinghi.store.halls.map((h) => [h.code, w.hoinghi.store.status(h.code)]));
  });

async function everyPageSees(check: (s: Record<string, string>) => boolean): Promise<void> {
  for (const [name, page] of [
    ['chair', chair],
    ['operator', operator],
    ['wall', wall],
  ] as const) {
    let last: Record<string, string> | null = null;
    await waitFor(
      `the ${name}'s console to see the halls`,
      async () => {
        last = await statuses(page).catch(() => null);
        return last && Object.keys(last).length === halls.length && check(last) ? true : undefined;
      },
      {
        // Which halls are in which state, so a failure says what the page saw.
        missing: () => {
          const byState: Record<string, string[]> = {};
          for (const [code, st] of Object.entries(last ?? {})) (byState[st] ??= []).push(code);
          return {
            halls: Object.keys(last ?? {}).length,
            offline: byState.offline,
            waiting,
            byState: Object.fromEntries(Object.entries(byState).map(([k, v]) => [k, v.length])),
          };
        },
      },
    );
  }
}

beforeAll(async () => {
  server = await startTestServer();
  browser = await launchBrowser();
  chair = (await openPage(browser, `${server.url}/chair?q=low#t=${server.token('chair')}`, HD)).page;
  operator = (await openPage(browser, `${server.url}/operator#t=${server.token('operator')}`, HD)).page;
  wall = (await openPage(browser, `${server.url}/wall?kiosk=1#t=${server.token('wall')}`, HD)).page;
  await waitFor('the chair to join', () =>
    chair.evaluate(() =>
      // Before its script has run the page has no controller yet: not joined.
      Boolean((window as unknown as { hoinghi?: { store?: { joined?: unknown } } }).hoinghi?.store?.joined),
    ),
  );
  halls = await chair.evaluate(() =>
    (
      window as unknown as { hoinghi: { store: { halls: { code: string; name: string }[] } } }
    ).hoinghi.store.halls.map((h) => ({ code: h.code, name: h.name })),
  );
  expect(halls).toHaveLength(63);
  offline = [halls[10], halls[31], halls[62]].map((h) => (h as { code: string }).code);
  const joining = halls.filter((h) => !offline.includes(h.code));
  for (let i = 0; i < joining.length; i += 10)
    await Promise.all(
      joining.slice(i, i + 10).map(async (h, j) => {
        const p = await participant(server, h.code);
        if ((i + j) % 3 === 0) await p.publishMic();
        joined.set(h.code, p);
      }),
    );
  await pageCommand(chair, 'conference:open');
  await pageCommand(chair, 'conference:start');
  // One hall waiting for the floor: the longest state words ("Đăng ký phát biểu") are on screen.
  waiting = (halls[5] as { code: string }).code;
  await (joined.get(waiting) as Participant).must('floor:request', { title: 'Báo cáo' });
  await everyPageSees(
    (s) => Object.values(s).filter((x) => x === 'offline').length === 3 && s[waiting] === 'requesting',
  );
});

afterAll(async () => {
  for (const p of joined.values()) p.close();
  await browser?.close();
  await server?.stop();
});

/** Starts counting DOM mutations under a selector; `take` returns the site code of each mutated node. */
async function watchMutations(page: Page, selector: string): Promise<void> {
  await page.evaluate((sel) => {
    const w = window as unknown as {
      mutated: string[];
      observer?: MutationObserver;
      count?: (records: MutationRecord[]) => void;
    };
    w.observer?.disconnect();
    w.mutated = [];
    w.count = (records) => {
      for (const r of records) {
        const node = r.target instanceof Element ? r.target : r.target.parentElement;
        // Each health round (every few seconds, every hall) rightly rewrites the operator's
        // health cells: the rule here is about presence and state pushes. The health cells'
        // own economy is checked in health-view.test.ts.
        if (r.attributeName === 'data-health' || node?.closest('td.health, td.figures, td.trend')) continue;
        w.mutated.push(node?.closest<HTMLElement>('[data-site]')?.dataset.site ?? '(outside any hall)');
      }
    };
    w.observer = new MutationObserver((records) => w.count?.(records));
    w.observer.observe(document.querySelector(sel) as Node, {
      subtree: true,
      childList: true,
      attributes: true,
      characterData: true,
    });
  }, selector);
}
const mutated = (page: Page) =>
  page.evaluate(() => {
    const w = window as unknown as {
      mutated: string[];
      observer?: MutationObserver;
      count?: (records: MutationRecord[]) => void;
    };
    // Records not yet delivered to the callback count too.
    w.count?.(w.observer?.takeRecords() ?? []);
    return [...w.mutated];
  });

describe('the chair sees every hall at a glance', () => {
  for (const size of [HD, { width: 1366, height: 768 }]) {
    it(`every hall's name and state in view without scrolling at ${size.width}×${size.height}`, async () => {
      await chair.setViewportSize(size);
      // The grid takes its columns from its box after a resize: wait until it has.
      await waitFor('the grid to fit the new size', () =>
        chair.evaluate(() => {
          const grid = document.getElementById('sites') as HTMLElement;
          return (
            grid.scrollHeight <= grid.clientHeight + 1 && grid.getBoundingClientRect().bottom <= innerHeight
          );
        }),
      );
      const result = await chair.evaluate(() => {
        const grid = document.getElementById('sites') as HTMLElement;
        return {
          pageScrolls: document.scrollingElement!.scrollHeight > innerHeight + 1,
          gridScrolls: grid.scrollHeight > grid.clientHeight + 1,
          tiles: Array.from(grid.querySelectorAll<HTMLElement>('li.hall')).map((li) => {
            const box = li.getBoundingClientRect();
            const name = li.querySelector('.hall-name') as HTMLElement;
            const state = li.querySelector('.hall-state') as HTMLElement;
            const nb = name.getBoundingClientRect();
            const sb = state.getBoundingClientRect();
            return {
              code: li.dataset.site,
              inView: box.top >= 0 && box.left >= 0 && box.bottom <= innerHeight && box.right <= innerWidth,
              nameWhole: name.scrollHeight <= name.clientHeight + 1,
              stateWhole:
                state.scrollWidth <= state.clientWidth + 1 && state.scrollHeight <= state.clientHeight + 1,
              apart: nb.bottom <= sb.top + 0.5 && sb.bottom <= box.bottom + 0.5,
              fontPx: parseFloat(getComputedStyle(name).fontSize),
              name: name.textContent,
              state: state.textContent,
              status: li.dataset.status,
            };
          }),
        };
      });
      expect(result.pageScrolls).toBe(false);
      expect(result.gridScrolls).toBe(false);
      expect(result.tiles.map((t) => t.name)).toEqual(halls.map((h) => h.name));
      for (const tile of result.tiles) {
        expect({ ...tile, fontPx: tile.fontPx >= 10 }).toMatchObject({
          inView: true,
          nameWhole: true,
          stateWhole: true,
          apart: true,
          fontPx: true,
        });
        expect(tile.state).toBe(
          offline.includes(tile.code as string)
            ? 'Chưa kết nối'
            : tile.code === waiting
              ? 'Đăng ký phát biểu'
              : 'Đã kết nối',
        );
      }
      await screenshot(chair, `consoles63-chair-${size.width}`);
    });
  }

  it('the search finds "Bà Rịa - Vũng Tàu" from "ba ria", with or without diacritics', async () => {
    await chair.setViewportSize(HD);
    for (const query of ['ba ria', 'BÀ RỊA', 'vung tau']) {
      await chair.fill('#hall-search', query);
      const found = await chair.$$eval('#sites li[data-match="true"]', (els) =>
        els.map((e) => e.querySelector('.hall-name')?.textContent),
      );
      expect(found).toEqual(['Bà Rịa - Vũng Tàu']);
      expect(await chair.locator('#sites li[data-match="false"]').count()).toBe(62);
    }
    await chair.fill('#hall-search', 'dak');
    const dak = await chair.$$eval('#sites li[data-match="true"] .hall-name', (els) =>
      els.map((e) => e.textContent),
    );
    expect(dak.sort()).toEqual(['Đắk Lắk', 'Đắk Nông']);
    await chair.fill('#hall-search', '');
    expect(await chair.locator('#sites li[data-match]').count()).toBe(0);
  });
});

describe('a push changes only the elements of the hall it is about', () => {
  it('a control the chair is using is never made again under them', async () => {
    // The chair holds the waiting hall's grant button and has the presentation list open on a
    // choice; a push that grows the queue must leave both as they are.
    const grant = `#queue li[data-site="${waiting}"] button.grant`;
    const choice = await chair.$$eval('#presentation-target option', (os) =>
      os.map((o) => (o as HTMLOptionElement).value).find((v) => v !== ''),
    );
    expect(choice).toBeTruthy();
    await chair.selectOption('#presentation-target', choice as string);
    await chair.evaluate((sel) => {
      const w = window as unknown as { held: Element[] };
      w.held = [
        document.querySelector(sel) as Element,
        document.getElementById('presentation-target') as Element,
      ];
      (w.held[1] as HTMLSelectElement).focus();
    }, grant);
    const other = halls[30] as { code: string };
    await (joined.get(other.code) as Participant).must('floor:request', { title: 'Ý kiến' });
    await everyPageSees((s) => s[other.code] === 'requesting');
    await waitFor('the second request on the chair', async () =>
      (await chair.locator('#queue li').count()) === 2 ? true : undefined,
    );
    const after = await chair.evaluate((sel) => {
      const w = window as unknown as { held: Element[] };
      const [button, select] = w.held as [Element, HTMLSelectElement];
      return {
        sameButton: document.querySelector(sel) === button && button.isConnected,
        sameSelect: document.getElementById('presentation-target') === select && select.isConnected,
        focused: document.activeElement === select,
        value: select.value,
      };
    }, grant);
    expect(after).toEqual({ sameButton: true, sameSelect: true, focused: true, value: choice });
    const requestId = await chair.$eval(
      `#queue li[data-site="${other.code}"]`,
      (li) => (li as HTMLElement).dataset.request,
    );
    await (joined.get(other.code) as Participant).must('floor:withdraw', { requestId });
    await everyPageSees((s) => s[other.code] !== 'requesting');
  });

  it('a hall requests the floor: only its tile, row and nothing on the wall change', async () => {
    const hall = halls[20] as { code: string };
    await watchMutations(chair, '#sites');
    await watchMutations(operator, '#rows');
    await watchMutations(wall, '#mosaic');
    await (joined.get(hall.code) as Participant).must('floor:request', { title: 'Tham luận' });
    await everyPageSees((s) => s[hall.code] === 'requesting');
    const onChair = await mutated(chair);
    const onOperator = await mutated(operator);
    expect(onChair.length).toBeGreaterThan(0);
    expect(new Set(onChair)).toEqual(new Set([hall.code]));
    expect(onOperator.length).toBeGreaterThan(0);
    expect(new Set(onOperator)).toEqual(new Set([hall.code]));
    // Its picture is not live on the wall (no camera): nothing there says "requesting".
    expect(await mutated(wall)).toEqual([]);
  });

  it('a hall leaves: only its tile, row and wall tile change', async () => {
    const hall = halls[40] as { code: string };
    await watchMutations(chair, '#sites');
    await watchMutations(operator, '#rows');
    await watchMutations(wall, '#mosaic');
    (joined.get(hall.code) as Participant).close();
    joined.delete(hall.code);
    await everyPageSees((s) => s[hall.code] === 'offline');
    await waitFor('the wall tile to say so', () =>
      wall.evaluate(
        (code) =>
          document.querySelector(`#mosaic [data-site="${code}"]`)?.getAttribute('data-signal') === 'offline',
        hall.code,
      ),
    );
    for (const page of [chair, operator, wall]) {
      const m = await mutated(page);
      expect(m.length).toBeGreaterThan(0);
      expect(new Set(m)).toEqual(new Set([hall.code]));
    }
    offline.push(hall.code);
  });
});

describe('a hall on air whose connection goes', () => {
  it('the chair sees it plainly and keeps the floor to decide; the wall and the operator say so too', async () => {
    const hall = halls[20] as { code: string };
    const requestId = await chair.evaluate(
      (code) =>
        (
          window as unknown as {
            hoinghi: { store: { state?: { queue: { id: string; siteCode: string }[] } } };
          }
        ).hoinghi.store.state?.queue.find((r) => r.siteCode === code)?.id,
      hall.code,
    );
    await pageCommand(chair, 'floor:grant', { requestId });
    await everyPageSees((s) => s[hall.code] === 'onAir');
    await expect(chair.locator('#onair-lost').isHidden()).resolves.toBe(true);
    (joined.get(hall.code) as Participant).close();
    joined.delete(hall.code);
    await everyPageSees((s) => s[hall.code] === 'onAirLost');
    const tile = chair.locator(`#sites li[data-site="${hall.code}"]`);
    await expect(tile.locator('.hall-state').innerText()).resolves.toBe('Mất kết nối khi đang phát biểu');
    await expect(chair.locator('#onair-lost').isVisible()).resolves.toBe(true);
    await expect(chair.locator('#onair-site').isVisible()).resolves.toBe(true);
    await expect(operator.locator(`#rows tr[data-site="${hall.code}"] td.status`).innerText()).resolves.toBe(
      'Mất kết nối khi đang phát biểu',
    );
    const wallTile = wall.locator(`#mosaic [data-site="${hall.code}"]`);
    await expect(wallTile.getAttribute('data-role')).resolves.toBe('speaker');
    await expect(wallTile.getAttribute('data-signal')).resolves.toBe('offline');
    await screenshot(chair, 'consoles63-chair-on-air-lost');
    // The chair ends the floor: the hall is simply not connected again.
    await pageCommand(chair, 'floor:revoke');
    await everyPageSees((s) => s[hall.code] === 'offline');
    offline.push(hall.code);
  });
});

describe("the operator's table", () => {
  it('shows every hall, counts and filters by state, sorts trouble first', async () => {
    expect(await operator.locator('#rows tr').count()).toBe(63);
    // The halls tab is the one shown: the other tabs' views stay hidden until chosen.
    await expect(operator.locator('#recording-view').isVisible()).resolves.toBe(false);
    await expect(operator.locator('#agenda-view').isVisible()).resolves.toBe(false);
    await expect(operator.locator('#rows tr').first().isVisible()).resolves.toBe(true);
    const count = (f: string) => operator.locator(`button[data-filter="${f}"] .count`).innerText();
    await expect(count('all')).resolves.toBe('63');
    await expect(count('offline')).resolves.toBe(String(offline.length));
    await expect(count('nomic')).resolves.toBe(String(63 - offline.length - (await micCount())));
    await operator.click('button[data-filter="offline"]');
    const shown = await operator.$$eval('#rows tr:not([hidden])', (rows) =>
      rows.map((r) => (r as HTMLElement).dataset.site),
    );
    expect(shown.sort()).toEqual([...offline].sort());
    // Roll call marks, then every other filter: its rows are exactly those its column says.
    const [here, away] = halls.slice(1, 3).map((h) => h.code) as [string, string];
    await operator.click('button[data-filter="all"]');
    await operator.click(`#rows tr[data-site="${here}"] td.roll-cell button:nth-of-type(1)`);
    await operator.click(`#rows tr[data-site="${away}"] td.roll-cell button:nth-of-type(2)`);
    await waitFor('the roll call counted', async () =>
      (await count('present')) === '1' && (await count('absent')) === '1' ? true : undefined,
    );
    const rowsWhere = (test: string) =>
      operator.$$eval(
        '#rows tr',
        (rows, t) =>
          rows
            .filter((r) => {
              const tr = r as HTMLElement;
              const media = Array.from(tr.querySelectorAll<HTMLElement>('td.media'), (c) => c.dataset.media);
              const connected = tr.dataset.status !== 'offline';
              if (t === 'nocamera') return connected && media[0] !== 'on';
              if (t === 'poor')
                return (
                  connected &&
                  (tr.dataset.status === 'poor' || ['poor', 'lost'].includes(tr.dataset.health ?? ''))
                );
              return tr.querySelector(`.roll-${t}`) !== null;
            })
            .map((r) => (r as HTMLElement).dataset.site as string),
        test,
      );
    for (const f of ['nocamera', 'poor', 'present', 'absent']) {
      const expected = (await rowsWhere(f)).sort();
      await operator.click(`button[data-filter="${f}"]`);
      const visible = await operator.$$eval('#rows tr:not([hidden])', (rows) =>
        rows.map((r) => (r as HTMLElement).dataset.site as string),
      );
      expect({ f, rows: visible.sort() }).toEqual({ f, rows: expected });
      await expect(count(f)).resolves.toBe(String(expected.length));
    }
    expect(await rowsWhere('present')).toEqual([here]);
    expect(await rowsWhere('absent')).toEqual([away]);
    await operator.click('button[data-filter="all"]');
    await operator.click('button[data-sort="status"]');
    const order = await operator.$$eval('#rows tr', (rows) =>
      rows.map((r) => (r as HTMLElement).dataset.status),
    );
    expect(order.slice(0, offline.length)).toEqual(offline.map(() => 'offline'));
    // No emoji: the media cells are inline SVG and words.
    const media = await operator.locator('#rows td.media').first().innerHTML();
    expect(media).toContain('<svg');
    expect(await operator.locator('#rows').innerText()).not.toMatch(/\p{Extended_Pictographic}/u);
    await screenshot(operator, 'consoles63-operator');
  });
});

async function micCount(): Promise<number> {
  return operator.$$eval('#rows td.media[data-media="on"]', (cells) => cells.length);
}

describe('the wall', () => {
  it('is an 8×8 mosaic of 64 named tiles in view, saying which halls have no picture', async () => {
    const tiles = await wall.$$eval('#mosaic figure.wall-tile', (figs) =>
      figs.map((f) => {
        const b = f.getBoundingClientRect();
        return {
          site: (f as HTMLElement).dataset.site,
          signal: (f as HTMLElement).dataset.signal,
          name: f.querySelector('.tile-name')?.textContent ?? '',
          placeholder: f.querySelector('.placeholder')?.textContent ?? '',
          x: Math.round(b.left),
          inView: b.top >= 0 && b.left >= 0 && b.bottom <= innerHeight + 0.5 && b.right <= innerWidth + 0.5,
        };
      }),
    );
    expect(tiles).toHaveLength(64);
    expect(new Set(tiles.map((t) => t.x)).size).toBe(8);
    expect(tiles.every((t) => t.inView && t.name.length > 0)).toBe(true);
    expect(tiles.slice(1).map((t) => t.name)).toEqual(halls.map((h) => h.name));
    for (const t of tiles.slice(1)) {
      if (offline.includes(t.site as string))
        expect([t.signal, t.placeholder]).toEqual(['offline', 'Chưa kết nối']);
      else expect([t.signal, t.placeholder]).toEqual(['nocamera', 'Không có camera']);
    }
    expect(await wall.evaluate(() => document.scrollingElement!.scrollHeight <= innerHeight)).toBe(true);
    await screenshot(wall, 'consoles63-wall');
  });

  it('keeps kiosk mode across a reload', async () => {
    await expect(wall.getAttribute('body', 'data-kiosk')).resolves.toBe('true');
    await wall.goto(`${server.url}/wall#t=${server.token('wall')}`);
    await wall.waitForSelector('#mosaic figure.wall-tile');
    await expect(wall.getAttribute('body', 'data-kiosk')).resolves.toBe('true');
    await wall.keyboard.press('k');
    await expect(wall.getAttribute('body', 'data-kiosk')).resolves.toBe('false');
  });
});

describe('a console that joins while halls come and go', () => {
  it('shows the presence pushed between its join answer and being ready, not the older snapshot', async () => {
    // Hold the page between the join's answer and being ready to receive: the device waits for
    // the router's capabilities, fetched over HTTP. Halls change meanwhile (in a join storm
    // this window is long); the console must end up with their newest presence.
    const context = await browser.newContext({ viewport: HD });
    const late = await context.newPage();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    await late.route('**/api/rtp-capabilities', async (route) => {
      await held;
      await route.continue();
    });
    // A second operator (another person): the first one's session stays.
    await late.goto(`${server.url}/operator#t=${server.token('operator-2', { role: 'operator' })}`);
    await waitFor('the join answer, with the page not yet ready', () =>
      late.evaluate(
        () =>
          performance.getEntriesByName('hoinghi:joined').length > 0 &&
          !(window as unknown as { hoinghi: { store: { joined?: unknown } } }).hoinghi.store.joined,
      ),
    );
    const comes = offline.shift() as string;
    const goes = (halls.find((h) => joined.has(h.code) && h.code !== waiting) as { code: string }).code;
    joined.set(comes, await participant(server, comes));
    (joined.get(goes) as Participant).close();
    joined.delete(goes);
    offline.push(goes);
    // The pushes have gone out: the consoles already joined show both changes.
    await everyPageSees((s) => s[comes] === 'connected' && s[goes] === 'offline');
    release();
    await waitFor(
      'the late console to see both changes',
      async () => {
        const s = await statuses(late).catch(() => null);
        return s && s[comes] === 'connected' && s[goes] === 'offline' ? true : undefined;
      },
      { missing: async () => statuses(late).then((s) => ({ [comes]: s[comes], [goes]: s[goes] })) },
    );
    // And it shows what the others show for every hall.
    expect(await statuses(late)).toEqual(await statuses(operator));
    await context.close();
  });
});
