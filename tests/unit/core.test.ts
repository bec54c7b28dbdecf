/**
 * The conference core, rule by rule, with an injected clock. Every failing command must
 * throw a typed CoreError and leave the state exactly as it was.
 */
import type { Command } from '../../server/src/core/commands';
import {
  type ConferenceInit,
  createConference,
  execute,
  nextDeadline,
  observe,
  tick,
} from '../../server/src/core/conference';
import { CoreError } from '../../server/src/core/errors';
import type { Actor, ConferenceState, FloorSettings, MinuteEntry } from '../../server/src/core/model';

const SETTINGS: FloorSettings = { defaultAllottedSec: 300, warningSec: 60, expiry: 'signal', graceSec: 15 };
const T0 = 1_700_000_000_000;

const chair: Actor = { role: 'chair', principal: 'chair', siteCode: 'tw' };
const cochair: Actor = { role: 'cochair', principal: 'cochair', siteCode: 'tw' };
const operator: Actor = { role: 'operator', principal: 'operator', siteCode: 'tw' };
const wall: Actor = { role: 'wall', principal: 'wall', siteCode: 'tw' };
const siteActor = (code: string): Actor => ({ role: 'site', principal: code, siteCode: code });
const A = siteActor('a');
const B = siteActor('b');
const C = siteActor('c');

const INIT: ConferenceInit = {
  id: 'conf',
  title: 'Hội nghị',
  chair: 'chair',
  settings: SETTINGS,
  sites: [
    { code: 'tw', name: 'Trung ương', kind: 'central' },
    { code: 'a', name: 'Hà Nội', kind: 'city' },
    { code: 'b', name: 'Huế', kind: 'city' },
    { code: 'c', name: 'Cà Mau', kind: 'province' },
  ],
};

function fresh(settings: Partial<FloorSettings> = {}): ConferenceState {
  return createConference({ ...INIT, settings: { ...SETTINGS, ...settings } });
}

/** A small driver: keeps state and minutes, advances a fake clock. */
class Run {
  state: ConferenceState;
  minutes: MinuteEntry[] = [];
  now = T0;
  constructor(state = fresh()) {
    this.state = state;
  }
  do(actor: Actor, cmd: Command): this {
    const out = execute(this.state, cmd, actor, this.now);
    this.state = out.state;
    this.minutes.push(...out.minutes);
    return this;
  }
  at(ms: number): this {
    this.now = T0 + ms;
    const out = tick(this.state, this.now);
    this.state = out.state;
    this.minutes.push(...out.minutes);
    return this;
  }
  fails(actor: Actor, cmd: Command, kind: CoreError['kind']): void {
    const before = structuredClone(this.state);
    let err: unknown;
    try {
      execute(this.state, cmd, actor, this.now);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CoreError);
    expect((err as CoreError).kind).toBe(kind);
    expect(this.state).toEqual(before);
  }
  last(): MinuteEntry {
    return this.minutes[this.minutes.length - 1] as MinuteEntry;
  }
}

function inSession(): Run {
  return new Run().do(chair, { type: 'conference:open' }).do(chair, { type: 'conference:start' });
}

const queueSites = (r: Run) => r.state.queue.map((q) => q.siteCode);

describe('lifecycle', () => {
  it('goes scheduled → open → in session → concluded → closed, each in the minutes', () => {
    const r = new Run();
    expect(r.state.phase).toBe('scheduled');
    r.do(chair, { type: 'conference:open' });
    r.do(chair, { type: 'conference:start' });
    r.do(chair, { type: 'conference:conclude' });
    r.do(chair, { type: 'conference:close' });
    expect(r.state.phase).toBe('closed');
    expect(r.minutes.map((m) => m.type)).toEqual([
      'conference.opened',
      'conference.started',
      'conference.concluded',
      'conference.closed',
    ]);
  });

  it.each([
    ['scheduled', { type: 'conference:start' }],
    ['scheduled', { type: 'conference:conclude' }],
    ['scheduled', { type: 'conference:close' }],
    ['open', { type: 'conference:open' }],
    ['open', { type: 'conference:conclude' }],
    ['in_session', { type: 'conference:open' }],
    ['in_session', { type: 'conference:close' }],
  ] as const)('refuses an invalid transition from %s: %j', (phase, cmd) => {
    const r = new Run();
    if (phase !== 'scheduled') r.do(chair, { type: 'conference:open' });
    if (phase === 'in_session') r.do(chair, { type: 'conference:start' });
    r.fails(chair, cmd, 'wrong-state');
  });

  it('refuses every command once closed', () => {
    const r = inSession().do(chair, { type: 'conference:conclude' }).do(chair, { type: 'conference:close' });
    r.fails(chair, { type: 'layout:set', layout: 'grid' }, 'wrong-state');
    r.fails(operator, { type: 'rollcall:mark', siteCode: 'a', status: 'present' }, 'wrong-state');
  });

  it('concluding ends the floor and clears the queue, recording both', () => {
    const r = inSession()
      .do(A, { type: 'floor:request', title: 'x' })
      .do(B, { type: 'floor:request', title: 'y' })
      .do(chair, { type: 'floor:next' })
      .do(chair, { type: 'conference:conclude' });
    expect(r.state.onAir).toBeNull();
    expect(r.state.queue).toEqual([]);
    expect(r.minutes.map((m) => m.type).slice(-3)).toEqual([
      'floor.ended',
      'floor.rejected',
      'conference.concluded',
    ]);
  });

  it('only the chair moves the lifecycle', () => {
    const r = new Run();
    for (const who of [operator, cochair, wall, A]) r.fails(who, { type: 'conference:open' }, 'forbidden');
  });
});

describe('roles and the chair', () => {
  it('the chair hands the chair to a co-chair, who then chairs; the old chair no longer can', () => {
    const r = inSession().do(chair, { type: 'chair:handover', to: 'cochair' });
    expect(r.state.chairHolder).toBe('cochair');
    expect(r.last()).toMatchObject({ type: 'chair.handed', data: { from: 'chair', to: 'cochair' } });
    r.do(cochair, { type: 'layout:set', layout: 'grid' });
    r.fails(chair, { type: 'layout:set', layout: 'speaker' }, 'forbidden');
  });

  it('an operator may hand the chair over (the chair dropped), a site or the wall may not', () => {
    const r = inSession();
    r.fails(A, { type: 'chair:handover', to: 'a' }, 'forbidden');
    r.fails(wall, { type: 'chair:handover', to: 'wall' }, 'forbidden');
    r.do(operator, { type: 'chair:handover', to: 'cochair' });
    expect(r.state.chairHolder).toBe('cochair');
  });

  it('the chair goes only to the chair or the co-chair: anyone else is refused, nothing changes', () => {
    const r = inSession();
    const minutes = r.minutes.length;
    for (const to of ['operator', 'wall', 'a', 'tw', 'mallory', '']) {
      r.fails(chair, { type: 'chair:handover', to }, 'forbidden');
      r.fails(operator, { type: 'chair:handover', to }, 'forbidden');
    }
    expect(r.state.chairHolder).toBe('chair');
    expect(r.minutes).toHaveLength(minutes);
    r.do(chair, { type: 'chair:handover', to: 'cochair' }).do(cochair, {
      type: 'chair:handover',
      to: 'chair',
    });
    expect(r.state.chairHolder).toBe('chair');
    expect(r.minutes.slice(minutes).map((m) => m.data)).toEqual([
      { from: 'chair', to: 'cochair' },
      { from: 'cochair', to: 'chair' },
    ]);
  });

  it('who may hold the chair is set at creation: by default the first chair and the co-chair', () => {
    expect(fresh().chairEligible).toEqual(['chair', 'cochair']);
    const custom = createConference({ ...INIT, chair: 'chair-1', chairEligible: ['chair-1', 'chair-2'] });
    const r = new Run(custom).do({ ...chair, principal: 'chair-1' }, { type: 'conference:open' });
    r.fails({ ...chair, principal: 'chair-1' }, { type: 'chair:handover', to: 'cochair' }, 'forbidden');
    r.do({ ...chair, principal: 'chair-1' }, { type: 'chair:handover', to: 'chair-2' });
    expect(r.state.chairHolder).toBe('chair-2');
  });

  it('a state stored by an older version (no chairEligible) allows the chair and the co-chair only', () => {
    const { chairEligible: _e, ...old } = inSession().state;
    const r = new Run(old as ConferenceState);
    r.fails(chair, { type: 'chair:handover', to: 'operator' }, 'forbidden');
    r.fails(chair, { type: 'chair:handover', to: 'mallory' }, 'forbidden');
    r.do(chair, { type: 'chair:handover', to: 'cochair' });
    expect(r.state.chairHolder).toBe('cochair');
  });

  it('a co-chair who does not hold the chair cannot chair', () => {
    inSession().fails(cochair, { type: 'floor:revoke' }, 'forbidden');
  });
});

describe('speaker queue', () => {
  it('is first-come ordered, with the statement title and time of request', () => {
    const r = inSession();
    r.now = T0 + 1000;
    r.do(B, { type: 'floor:request', title: 'Tham luận về y tế' });
    r.now = T0 + 2000;
    r.do(A, { type: 'floor:request', title: 'Tham luận về giáo dục' });
    expect(r.state.queue).toEqual([
      { id: 'r1', siteCode: 'b', title: 'Tham luận về y tế', requestedAt: T0 + 1000, by: 'b' },
      { id: 'r2', siteCode: 'a', title: 'Tham luận về giáo dục', requestedAt: T0 + 2000, by: 'a' },
    ]);
    expect(r.last()).toMatchObject({ type: 'floor.requested', siteCode: 'a', actor: 'a', at: T0 + 2000 });
  });

  it('may be joined before the session starts (open) but not while scheduled or concluded', () => {
    const r = new Run();
    r.fails(A, { type: 'floor:request', title: 'x' }, 'wrong-state');
    r.do(chair, { type: 'conference:open' }).do(A, { type: 'floor:request', title: 'x' });
    expect(queueSites(r)).toEqual(['a']);
  });

  it('a site requests only for itself; the chair or an operator for any site, the central bridge included', () => {
    const r = inSession();
    r.fails(A, { type: 'floor:request', title: 'x', siteCode: 'b' }, 'forbidden');
    r.do(operator, { type: 'floor:request', title: 'Đại biểu Bộ Y tế', siteCode: 'tw' });
    r.do(chair, { type: 'floor:request', title: 'x', siteCode: 'c' });
    expect(queueSites(r)).toEqual(['tw', 'c']);
    expect(r.state.queue[0]?.by).toBe('operator');
    r.fails(wall, { type: 'floor:request', title: 'x' }, 'forbidden');
    r.fails(chair, { type: 'floor:request', title: 'x', siteCode: 'nowhere' }, 'not-found');
  });

  it('a site is in the queue at most once, and not while it has the floor', () => {
    const r = inSession().do(A, { type: 'floor:request', title: 'x' });
    r.fails(A, { type: 'floor:request', title: 'again' }, 'wrong-state');
    r.do(chair, { type: 'floor:next' });
    r.fails(A, { type: 'floor:request', title: 'more' }, 'wrong-state');
  });

  it('a site withdraws its own request, not another site’s; the chair may withdraw any', () => {
    const r = inSession()
      .do(A, { type: 'floor:request', title: 'x' })
      .do(B, { type: 'floor:request', title: 'y' });
    r.fails(A, { type: 'floor:withdraw', requestId: 'r2' }, 'forbidden');
    r.do(A, { type: 'floor:withdraw', requestId: 'r1' });
    r.do(chair, { type: 'floor:withdraw', requestId: 'r2' });
    expect(r.state.queue).toEqual([]);
    r.fails(A, { type: 'floor:withdraw', requestId: 'r1' }, 'not-found');
  });

  it('the chair reorders; a bad index is refused', () => {
    const r = inSession()
      .do(A, { type: 'floor:request', title: 'x' })
      .do(B, { type: 'floor:request', title: 'y' })
      .do(C, { type: 'floor:request', title: 'z' })
      .do(chair, { type: 'floor:reorder', requestId: 'r3', toIndex: 0 });
    expect(queueSites(r)).toEqual(['c', 'a', 'b']);
    expect(r.last()).toMatchObject({ type: 'floor.reordered', data: { from: 2, to: 0 } });
    r.fails(chair, { type: 'floor:reorder', requestId: 'r1', toIndex: 3 }, 'bad-request');
    r.fails(A, { type: 'floor:reorder', requestId: 'r1', toIndex: 0 }, 'forbidden');
  });

  it('skip moves a request to the end; reject removes it with a reason', () => {
    const r = inSession()
      .do(A, { type: 'floor:request', title: 'x' })
      .do(B, { type: 'floor:request', title: 'y' })
      .do(C, { type: 'floor:request', title: 'z' })
      .do(chair, { type: 'floor:skip', requestId: 'r1' });
    expect(queueSites(r)).toEqual(['b', 'c', 'a']);
    r.do(chair, { type: 'floor:reject', requestId: 'r3', reason: 'hết thời gian' });
    expect(queueSites(r)).toEqual(['b', 'a']);
    expect(r.last()).toMatchObject({
      type: 'floor.rejected',
      siteCode: 'c',
      data: { reason: 'hết thời gian' },
    });
  });

  it('only the chair grants, skips, rejects and revokes', () => {
    const r = inSession().do(A, { type: 'floor:request', title: 'x' });
    for (const who of [operator, A, B, wall, cochair]) {
      r.fails(who, { type: 'floor:grant', requestId: 'r1' }, 'forbidden');
      r.fails(who, { type: 'floor:next' }, 'forbidden');
      r.fails(who, { type: 'floor:skip', requestId: 'r1' }, 'forbidden');
      r.fails(who, { type: 'floor:reject', requestId: 'r1' }, 'forbidden');
    }
  });
});

describe('the floor', () => {
  it('grant puts one site on air with the default allotted time and removes it from the queue', () => {
    const r = inSession()
      .do(A, { type: 'floor:request', title: 'x' })
      .do(B, { type: 'floor:request', title: 'y' });
    r.now = T0 + 5000;
    r.do(chair, { type: 'floor:grant', requestId: 'r2' });
    expect(r.state.onAir).toMatchObject({
      siteCode: 'b',
      title: 'y',
      grantedAt: T0 + 5000,
      allottedMs: 300_000,
      endsAt: T0 + 305_000,
    });
    expect(queueSites(r)).toEqual(['a']);
    expect(r.last()).toMatchObject({ type: 'floor.granted', siteCode: 'b', data: { allottedSec: 300 } });
  });

  it('granting while a site is on air ends that floor first: at most one site on air', () => {
    const r = inSession()
      .do(A, { type: 'floor:request', title: 'x' })
      .do(B, { type: 'floor:request', title: 'y' })
      .do(chair, { type: 'floor:next' });
    r.now = T0 + 42_000;
    r.do(chair, { type: 'floor:next' });
    expect(r.state.onAir?.siteCode).toBe('b');
    const ended = r.minutes.find((m) => m.type === 'floor.ended');
    expect(ended).toMatchObject({ siteCode: 'a', data: { reason: 'next', allottedSec: 300, actualSec: 42 } });
  });

  it('grant next on an empty queue, and granting before the session starts, are refused', () => {
    inSession().fails(chair, { type: 'floor:next' }, 'wrong-state');
    const r = new Run().do(chair, { type: 'conference:open' }).do(A, { type: 'floor:request', title: 'x' });
    r.fails(chair, { type: 'floor:grant', requestId: 'r1' }, 'wrong-state');
  });

  it('an explicit allotted time wins, and must be 10 s to 3 h', () => {
    const r = inSession().do(A, { type: 'floor:request', title: 'x' });
    r.fails(chair, { type: 'floor:grant', requestId: 'r1', allottedSec: 5 }, 'bad-request');
    r.do(chair, { type: 'floor:grant', requestId: 'r1', allottedSec: 120 });
    expect(r.state.onAir?.allottedMs).toBe(120_000);
  });

  it('revoke ends the floor with allotted versus actual time; revoking nobody is refused', () => {
    const r = inSession().do(A, { type: 'floor:request', title: 'x' }).do(chair, { type: 'floor:next' });
    r.now = T0 + 90_500;
    r.do(chair, { type: 'floor:revoke' });
    expect(r.state.onAir).toBeNull();
    expect(r.last()).toMatchObject({
      type: 'floor.ended',
      data: { reason: 'revoked', allottedSec: 300, actualSec: 91 },
    });
    r.fails(chair, { type: 'floor:revoke' }, 'wrong-state');
  });

  it('extend adds time, and re-arms the warning when the new end is far enough', () => {
    const r = inSession().do(A, { type: 'floor:request', title: 'x' }).do(chair, { type: 'floor:next' });
    r.at(250_000);
    expect(r.state.onAir?.warned).toBe(true);
    r.do(chair, { type: 'floor:extend', seconds: 120 });
    expect(r.state.onAir).toMatchObject({ allottedMs: 420_000, endsAt: T0 + 420_000, warned: false });
    r.fails(chair, { type: 'floor:extend', seconds: 0 }, 'bad-request');
  });
});

describe('time limits (injected clock)', () => {
  const granted = (settings: Partial<FloorSettings> = {}) =>
    new Run(fresh(settings))
      .do(chair, { type: 'conference:open' })
      .do(chair, { type: 'conference:start' })
      .do(A, { type: 'floor:request', title: 'x' })
      .do(chair, { type: 'floor:grant', requestId: 'r1', allottedSec: 120 });

  it('warns once, warningSec before the end, and not earlier', () => {
    const r = granted();
    expect(nextDeadline(r.state)).toBe(T0 + 60_000);
    r.at(59_999);
    expect(r.state.onAir?.warned).toBe(false);
    r.at(60_000).at(61_000);
    expect(r.minutes.filter((m) => m.type === 'floor.warning')).toHaveLength(1);
    expect(r.last()).toMatchObject({ type: 'floor.warning', actor: null, data: { remainingSec: 60 } });
    expect(nextDeadline(r.state)).toBe(T0 + 120_000);
  });

  it('with the "signal" policy, expiry is recorded and the speaker keeps the floor', () => {
    const r = granted().at(120_000);
    expect(r.state.onAir).toMatchObject({ expired: true, siteCode: 'a' });
    expect(r.last()).toMatchObject({ type: 'floor.expired', data: { policy: 'signal' } });
    expect(nextDeadline(r.state)).toBeNull();
    r.at(500_000);
    expect(r.state.onAir?.siteCode).toBe('a');
  });

  it('with the "end" policy, the floor ends after the grace period', () => {
    const r = granted({ expiry: 'end', graceSec: 15 }).at(120_000);
    expect(r.state.onAir?.expired).toBe(true);
    expect(nextDeadline(r.state)).toBe(T0 + 135_000);
    r.at(134_999);
    expect(r.state.onAir).not.toBeNull();
    r.at(135_000);
    expect(r.state.onAir).toBeNull();
    expect(r.last()).toMatchObject({
      type: 'floor.ended',
      data: { reason: 'expired', allottedSec: 120, actualSec: 135 },
    });
  });

  it('a late tick catches up: warning, expiry and end in order', () => {
    const r = granted({ expiry: 'end' }).at(1_000_000);
    expect(r.minutes.slice(-3).map((m) => m.type)).toEqual(['floor.warning', 'floor.expired', 'floor.ended']);
  });

  it('tick with nothing due changes nothing', () => {
    const r = granted();
    const before = r.state;
    r.at(1000);
    expect(r.state).toBe(before);
  });
});

describe('presentation token', () => {
  it('has one holder at a time: the chair gives it to a site or a person; giving again moves it', () => {
    const r = inSession().do(chair, { type: 'presentation:give', to: { kind: 'site', code: 'a' } });
    expect(r.state.presentation).toEqual({ kind: 'site', code: 'a' });
    r.do(chair, { type: 'presentation:give', to: { kind: 'person', principal: 'chair' } });
    expect(r.state.presentation).toEqual({ kind: 'person', principal: 'chair' });
    expect(r.minutes.filter((m) => m.type === 'presentation.changed')).toHaveLength(2);
  });

  it('only the chair gives it; the holder or the chair releases it', () => {
    const r = inSession();
    r.fails(A, { type: 'presentation:give', to: { kind: 'site', code: 'a' } }, 'forbidden');
    r.fails(chair, { type: 'presentation:give', to: { kind: 'site', code: 'zz' } }, 'not-found');
    r.do(chair, { type: 'presentation:give', to: { kind: 'site', code: 'a' } });
    r.fails(B, { type: 'presentation:release' }, 'forbidden');
    r.do(A, { type: 'presentation:release' });
    expect(r.state.presentation).toBeNull();
    r.fails(A, { type: 'presentation:release' }, 'wrong-state');
  });
});

describe('agenda', () => {
  const items = [
    { kind: 'opening' as const, title: 'Khai mạc', allottedSec: 600 },
    { kind: 'statement' as const, title: 'Tham luận Hà Nội', allottedSec: 420, speakerSite: 'a' },
    { kind: 'conclusion' as const, title: 'Kết luận' },
  ];

  it('the chair or an operator sets it; the chair moves to the next item', () => {
    const r = new Run().do(operator, { type: 'agenda:set', items });
    expect(r.state.agenda.items.map((i) => i.id)).toEqual(['a1', 'a2', 'a3']);
    expect(r.state.agenda.current).toBe(-1);
    r.do(chair, { type: 'conference:open' }).do(chair, { type: 'agenda:next' });
    expect(r.state.agenda.current).toBe(0);
    r.do(chair, { type: 'agenda:next' });
    expect(r.last()).toMatchObject({ type: 'agenda.moved', siteCode: 'a', data: { from: 0, to: 1 } });
    r.do(chair, { type: 'agenda:next' });
    r.fails(chair, { type: 'agenda:next' }, 'bad-request');
    r.fails(operator, { type: 'agenda:next' }, 'forbidden');
    r.fails(A, { type: 'agenda:set', items: [] }, 'forbidden');
  });

  it('refuses an agenda naming an unknown speaker site', () => {
    new Run().fails(
      chair,
      { type: 'agenda:set', items: [{ kind: 'statement', title: 'x', speakerSite: 'zz' }] },
      'not-found',
    );
  });

  it("granting from the current item uses its speaker site, title and allotted time, consuming the site's request", () => {
    const r = inSession()
      .do(chair, { type: 'agenda:set', items })
      .do(A, { type: 'floor:request', title: 'Báo cáo của Hà Nội' })
      .do(chair, { type: 'agenda:goto', index: 1 })
      .do(chair, { type: 'agenda:grant' });
    expect(r.state.onAir).toMatchObject({
      siteCode: 'a',
      allottedMs: 420_000,
      agendaItemId: 'a2',
      title: 'Báo cáo của Hà Nội',
    });
    expect(r.state.queue).toEqual([]);
  });

  it('granting from an item with no speaker site is refused; a queue grant for the item’s site uses its time', () => {
    const r = inSession()
      .do(chair, { type: 'agenda:set', items })
      .do(chair, { type: 'agenda:goto', index: 0 });
    r.fails(chair, { type: 'agenda:grant' }, 'wrong-state');
    r.do(chair, { type: 'agenda:goto', index: 1 })
      .do(A, { type: 'floor:request', title: 'x' })
      .do(chair, { type: 'floor:next' });
    expect(r.state.onAir?.allottedMs).toBe(420_000);
  });
});

describe('layout, roll call, connections', () => {
  it('the chair chooses the layout for every screen; setting the same layout records nothing', () => {
    const r = inSession().do(chair, { type: 'layout:set', layout: 'speaker_presentation' });
    expect(r.state.layout).toBe('speaker_presentation');
    const n = r.minutes.length;
    r.do(chair, { type: 'layout:set', layout: 'speaker_presentation' });
    expect(r.minutes).toHaveLength(n);
    r.fails(operator, { type: 'layout:set', layout: 'grid' }, 'forbidden');
  });

  it('the operator marks roll call per site', () => {
    const r = new Run().do(operator, { type: 'rollcall:mark', siteCode: 'b', status: 'present' });
    expect(r.state.sites.find((s) => s.code === 'b')?.rollCall).toBe('present');
    r.fails(B, { type: 'rollcall:mark', siteCode: 'b', status: 'present' }, 'forbidden');
  });

  it('joins and leaves go into the minutes as system entries', () => {
    const s = fresh();
    const out = observe(s, { type: 'site:connected', siteCode: 'a' }, T0);
    expect(out.minutes).toEqual([
      { seq: 1, at: T0, type: 'site.joined', actor: null, siteCode: 'a', data: {} },
    ]);
    expect(observe(out.state, { type: 'site:disconnected', siteCode: 'a' }, T0 + 1).minutes[0]?.seq).toBe(2);
  });
});

describe('a site lost without a goodbye: held, then released by the rules', () => {
  const HOLD = 60_000;
  /** A observes a system event at the run's clock. */
  const see = (r: Run, ev: Parameters<typeof observe>[1]) => {
    const out = observe(r.state, ev, r.now);
    r.state = out.state;
    r.minutes.push(...out.minutes);
    return r;
  };
  /** A on air with 300 s and holding the presentation, B then C in the queue. */
  function speaking(): Run {
    const r = inSession()
      .do(A, { type: 'floor:request', title: 'first' })
      .do(B, { type: 'floor:request', title: 'b' })
      .do(C, { type: 'floor:request', title: 'c' });
    r.do(chair, { type: 'floor:grant', requestId: r.state.queue[0]?.id as string });
    r.do(chair, { type: 'presentation:give', to: { kind: 'site', code: 'a' } });
    return r;
  }

  /** The id of a site's request in the queue. */
  const r0 = (r: Run, code: string) => r.state.queue.find((q) => q.siteCode === code)?.id as string;

  it('keeps the floor, queue place and presentation, with the clock stopped, and gives them back as they were', () => {
    const r = speaking().at(100_000); // 200 s left
    see(r, { type: 'site:lost', siteCode: 'a', holdMs: HOLD });
    expect(r.last()).toMatchObject({
      type: 'site.lost',
      siteCode: 'a',
      data: { holdSec: 60, remainingSec: 200 },
    });
    expect(r.state.away).toEqual({ a: { since: T0 + 100_000, releaseAt: T0 + 160_000 } });
    expect(r.state.onAir?.pausedAt).toBe(T0 + 100_000);
    // A second report of the same loss changes nothing.
    const held = structuredClone(r.state);
    see(r, { type: 'site:lost', siteCode: 'a', holdMs: HOLD });
    expect(r.state).toEqual(held);
    // While it is away the clock neither warns nor expires, and nothing is released early.
    r.at(159_999);
    expect(r.state.onAir?.warned).toBe(false);
    expect(nextDeadline(r.state)).toBe(T0 + 160_000);
    see(r.at(150_000), { type: 'site:connected', siteCode: 'a' });
    expect(r.last()).toMatchObject({ type: 'site.back', siteCode: 'a', data: { awaySec: 50 } });
    expect(r.state.away).toBeUndefined();
    expect(r.state.onAir).toMatchObject({ siteCode: 'a', endsAt: T0 + 300_000 + 50_000 });
    expect(r.state.onAir?.pausedAt).toBeUndefined();
    expect(queueSites(r)).toEqual(['b', 'c']);
    expect(r.state.presentation).toEqual({ kind: 'site', code: 'a' });
    // 200 s left, as when it went.
    expect((r.state.onAir?.endsAt as number) - r.now).toBe(200_000);
  });

  it('not back within the hold: the floor ends, its requests leave the queue, its presentation goes, in the minutes', () => {
    const r = speaking().at(100_000);
    see(r, { type: 'site:lost', siteCode: 'a', holdMs: HOLD });
    see(r, { type: 'site:lost', siteCode: 'b', holdMs: HOLD });
    r.at(160_000);
    expect(r.state.onAir).toBeNull();
    expect(queueSites(r)).toEqual(['c']);
    expect(r.state.presentation).toBeNull();
    expect(r.state.away).toBeUndefined();
    const types = r.minutes.slice(-5).map((m) => [m.type, m.siteCode, m.data.reason ?? m.data.released]);
    expect(types).toEqual([
      ['floor.ended', 'a', 'lost'],
      ['presentation.changed', null, 'lost'],
      ['site.released', 'a', 'floor,presentation'],
      ['floor.withdrawn', 'b', 'lost'],
      ['site.released', 'b', 'queue'],
    ]);
    // Coming back afterwards is an ordinary join: nothing is given back.
    see(r, { type: 'site:connected', siteCode: 'a' });
    expect(r.last().type).toBe('site.joined');
    expect(r.state.onAir).toBeNull();
  });

  it('a site that is lost holding nothing is released with nothing to release; others are untouched', () => {
    const r = speaking().do(chair, { type: 'floor:withdraw', requestId: r0(speaking(), 'c') });
    see(r, { type: 'site:lost', siteCode: 'c', holdMs: HOLD });
    expect(r.state.onAir?.pausedAt).toBeUndefined(); // A's clock runs on
    r.at(HOLD);
    expect(r.last()).toMatchObject({ type: 'site.released', siteCode: 'c', data: { released: 'nothing' } });
    expect(r.state.onAir?.siteCode).toBe('a');
    expect(queueSites(r)).toEqual(['b']);
  });

  it('stops the clock from when the site went silent, not from when that was noticed', () => {
    const r = speaking().at(100_000);
    see(r, { type: 'site:lost', siteCode: 'a', holdMs: HOLD, silentSince: T0 + 92_000 });
    expect(r.state.onAir?.pausedAt).toBe(T0 + 92_000);
    expect(r.state.away?.a?.since).toBe(T0 + 92_000);
    expect(r.last().data).toMatchObject({ silentSec: 8, remainingSec: 208 });
    see(r.at(130_000), { type: 'site:connected', siteCode: 'a' });
    expect((r.state.onAir?.endsAt as number) - r.now).toBe(208_000);
  });

  it('the floor granted to a site that is away waits for it; the chair can still end it', () => {
    const r = inSession().do(B, { type: 'floor:request', title: 'b' });
    see(r, { type: 'site:lost', siteCode: 'b', holdMs: HOLD });
    r.do(chair, { type: 'floor:grant', requestId: r.state.queue[0]?.id as string });
    expect(r.state.onAir?.pausedAt).toBe(r.now);
    r.do(chair, { type: 'floor:revoke' });
    expect(r.state.onAir).toBeNull();
    expect(r.state.away?.b).toBeDefined();
  });

  it('the chair keeps the floor for a lost speaker beyond its hold; it speaks on when back', () => {
    const r = speaking().at(100_000);
    r.fails(chair, { type: 'floor:keep' }, 'wrong-state'); // connected: nothing to keep
    see(r, { type: 'site:lost', siteCode: 'a', holdMs: HOLD });
    r.fails(cochair, { type: 'floor:keep' }, 'forbidden');
    r.fails(A, { type: 'floor:keep' }, 'forbidden');
    r.do(chair, { type: 'floor:keep' });
    expect(r.last()).toMatchObject({ type: 'floor.kept', siteCode: 'a' });
    const n = r.minutes.length;
    r.do(chair, { type: 'floor:keep' }); // once is enough
    expect(r.minutes).toHaveLength(n);
    r.at(100_000 + HOLD);
    // Its queue places and presentation are released; its floor is not.
    expect(r.last()).toMatchObject({ type: 'site.released', data: { released: 'presentation' } });
    expect(r.state.onAir).toMatchObject({ siteCode: 'a', kept: true, pausedAt: T0 + 100_000 });
    see(r.at(400_000), { type: 'site:connected', siteCode: 'a' });
    expect(r.last()).toMatchObject({ type: 'site.back', data: { kept: true } });
    expect(r.state.onAir?.kept).toBeUndefined();
    expect((r.state.onAir?.endsAt as number) - r.now).toBe(200_000);
  });

  it('survives a restart: the held sites are in the stored state', () => {
    const r = speaking();
    see(r, { type: 'site:lost', siteCode: 'a', holdMs: HOLD });
    const stored = JSON.parse(JSON.stringify(r.state)) as ConferenceState;
    expect(stored.away).toEqual(r.state.away);
    expect(stored.onAir?.pausedAt).toBe(r.state.onAir?.pausedAt);
  });
});

describe('minutes', () => {
  it('are numbered without gaps across every kind of command', () => {
    const r = inSession()
      .do(A, { type: 'floor:request', title: 'x' })
      .do(chair, { type: 'floor:next' })
      .do(chair, { type: 'presentation:give', to: { kind: 'site', code: 'a' } })
      .at(299_000)
      .do(chair, { type: 'floor:revoke' });
    expect(r.minutes.map((m) => m.seq)).toEqual(r.minutes.map((_m, i) => i + 1));
    expect(r.state.nextMinute).toBe(r.minutes.length + 1);
  });
});

describe('recording (the state the recorders follow)', () => {
  const saw = (r: Run, ev: Parameters<typeof observe>[1]) => {
    const out = observe(r.state, ev, r.now);
    r.state = out.state;
    r.minutes.push(...out.minutes);
  };

  it('the chair or an operator starts and stops the programme recording; nobody else, and not twice', () => {
    const r = inSession();
    r.fails(A, { type: 'recording:start' }, 'forbidden');
    r.fails(wall, { type: 'recording:start' }, 'forbidden');
    r.fails(cochair, { type: 'recording:start' }, 'forbidden'); // not holding the chair
    r.fails(operator, { type: 'recording:stop' }, 'wrong-state');
    r.do(operator, { type: 'recording:start' });
    expect(r.state.recording).toEqual({ since: T0, by: 'operator' });
    expect(r.last().type).toBe('recording.started');
    r.fails(chair, { type: 'recording:start' }, 'wrong-state');
    r.at(90_000).do(chair, { type: 'recording:stop' });
    expect(r.state.recording).toBeNull();
    expect(r.last()).toMatchObject({
      type: 'recording.stopped',
      data: { reason: 'stopped', durationSec: 90 },
    });
  });

  it('closing the conference ends the recording', () => {
    const r = inSession().do(chair, { type: 'recording:start' });
    r.do(chair, { type: 'conference:conclude' }).do(chair, { type: 'conference:close' });
    expect(r.state.recording).toBeNull();
    expect(r.minutes.some((m) => m.type === 'recording.stopped' && m.data.reason === 'closed')).toBe(true);
  });

  it("a statement's recording is linked from its floor.ended line, only for the floor it was made for", () => {
    const r = inSession().do(A, { type: 'floor:request', title: 'Ý kiến' });
    const requestId = r.state.queue[0]?.id as string;
    r.do(chair, { type: 'floor:grant', requestId });
    saw(r, { type: 'recording:statement', requestId: 'r999', recording: 'x' });
    expect(r.state.onAir?.recording).toBeUndefined();
    saw(r, { type: 'recording:statement', requestId, recording: 'conf_a_20231114T221320Z' });
    expect(r.state.onAir?.recording).toBe('conf_a_20231114T221320Z');
    r.do(chair, { type: 'floor:revoke' });
    expect(r.last()).toMatchObject({ type: 'floor.ended', data: { recording: 'conf_a_20231114T221320Z' } });
  });

  it('saved and failed recordings are minuted; a final programme failure ends the recording state', () => {
    const r = inSession().do(operator, { type: 'recording:start' });
    saw(r, {
      type: 'recording:saved',
      file: {
        id: 'conf_programme_20231114T221320Z',
        kind: 'programme',
        siteCode: null,
        requestId: null,
        startedAt: T0,
        endedAt: T0 + 60_000,
        bytes: 1000,
        durationMs: 60_040,
        streams: ['video/vp8', 'audio/opus'],
        ok: true,
      },
    });
    expect(r.last()).toMatchObject({ type: 'recording.saved', data: { durationSec: 60, kind: 'programme' } });
    saw(r, {
      type: 'recording:failed',
      kind: 'statement',
      recording: null,
      siteCode: 'a',
      message: 'm',
      final: false,
    });
    expect(r.state.recording).toBeTruthy();
    saw(r, {
      type: 'recording:failed',
      kind: 'programme',
      recording: null,
      siteCode: null,
      message: 'disk',
      final: true,
    });
    expect(r.state.recording).toBeNull();
    expect(r.last()).toMatchObject({
      type: 'recording.failed',
      data: { kind: 'programme', message: 'disk' },
    });
  });
});
