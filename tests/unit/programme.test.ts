import { createConference, execute } from '../../server/src/core/conference';
import type { Actor, ConferenceState } from '../../server/src/core/model';
import {
  mayPublish,
  micLive,
  preferredLayer,
  shouldFlow,
  shouldPrepare,
  wantedLayer,
} from '../../server/src/core/programme';

const chair: Actor = { role: 'chair', principal: 'chair', siteCode: 'tw' };
const cochair: Actor = { role: 'cochair', principal: 'cochair', siteCode: 'tw' };
const operator: Actor = { role: 'operator', principal: 'operator', siteCode: 'tw' };
const wall: Actor = { role: 'wall', principal: 'wall', siteCode: 'tw' };
const site = (c: string): Actor => ({ role: 'site', principal: c, siteCode: c });
const A = site('a');
const B = site('b');
const C = site('c');

function base(): ConferenceState {
  let s = createConference({
    id: 'x',
    title: 'x',
    chair: 'chair',
    settings: { defaultAllottedSec: 300, warningSec: 60, expiry: 'signal', graceSec: 10 },
    sites: ['tw', 'a', 'b', 'c'].map((code) => ({
      code,
      name: code,
      kind: code === 'tw' ? 'central' : 'province',
    })),
  });
  for (const type of ['conference:open', 'conference:start'] as const)
    s = execute(s, { type }, chair, 0).state;
  return s;
}
const run = (s: ConferenceState, actor: Actor, cmd: Parameters<typeof execute>[1]) =>
  execute(s, cmd, actor, 1).state;

describe('who is heard (microphones, enforced by pausing producers)', () => {
  it('before any grant: only the chair holder', () => {
    const s = base();
    expect([chair, cochair, operator, A, B].filter((p) => micLive(s, p))).toEqual([chair]);
  });

  it('after a grant: the chair holder and the site on air; after revoke: the chair again alone', () => {
    let s = run(base(), A, { type: 'floor:request', title: 't' });
    expect(micLive(s, A)).toBe(false); // queued is not heard
    s = run(s, chair, { type: 'floor:next' });
    expect([chair, A, B, C].filter((p) => micLive(s, p))).toEqual([chair, A]);
    s = run(s, chair, { type: 'floor:revoke' });
    expect([chair, A, B, C].filter((p) => micLive(s, p))).toEqual([chair]);
  });

  it('follows the chair when it is handed to the co-chair', () => {
    const s = run(base(), chair, { type: 'chair:handover', to: 'cochair' });
    expect(micLive(s, cochair)).toBe(true);
    expect(micLive(s, chair)).toBe(false);
  });
});

describe('what is prepared and what flows', () => {
  it('the central consoles get every camera prepared; only the wall has every one flowing', () => {
    let s = base();
    for (const r of [chair, cochair, operator, wall]) expect(shouldPrepare(s, r, A, 'camera')).toBe(true);
    expect(shouldFlow(s, wall, A, 'camera')).toBe(true);
    // The chair's panel shows idle halls in words (no picture to decode), the operator's none.
    for (const r of [chair, cochair, operator]) expect(shouldFlow(s, r, A, 'camera')).toBe(false);
    expect(shouldFlow(s, operator, chair, 'camera')).toBe(false);
    expect(shouldFlow(s, chair, cochair, 'camera')).toBe(true);
    // Queued and on air: live on the chair's and co-chair's panels.
    s = run(s, A, { type: 'floor:request', title: 't' });
    for (const r of [chair, cochair]) expect(shouldFlow(s, r, A, 'camera')).toBe(true);
    expect(shouldFlow(s, operator, A, 'camera')).toBe(false);
    s = run(s, chair, { type: 'floor:next' });
    for (const r of [chair, cochair, wall]) expect(shouldFlow(s, r, A, 'camera')).toBe(true);
    expect(shouldFlow(s, chair, B, 'camera')).toBe(false);
  });

  it("nobody gets a site's microphone until it is queued; then everyone but itself, ready for the grant", () => {
    let s = base();
    expect(shouldPrepare(s, B, A, 'microphone')).toBe(false);
    expect(shouldPrepare(s, chair, A, 'microphone')).toBe(false);
    s = run(s, A, { type: 'floor:request', title: 't' });
    expect(shouldPrepare(s, B, A, 'microphone')).toBe(true);
    expect(shouldPrepare(s, chair, A, 'microphone')).toBe(true);
    expect(shouldPrepare(s, A, A, 'microphone')).toBe(false);
  });

  it('sites see the chair holder and the site on air, not other sites; per the layout', () => {
    let s = run(base(), A, { type: 'floor:request', title: 't' });
    expect(shouldFlow(s, B, chair, 'camera')).toBe(true);
    expect(shouldFlow(s, B, cochair, 'camera')).toBe(false);
    expect(shouldFlow(s, B, A, 'camera')).toBe(false); // queued: prepared, not shown
    expect(shouldPrepare(s, B, C, 'camera')).toBe(false);
    s = run(s, chair, { type: 'floor:next' });
    expect(shouldFlow(s, B, A, 'camera')).toBe(true);
    s = run(s, chair, { type: 'presentation:give', to: { kind: 'person', principal: 'chair' } });
    s = run(s, chair, { type: 'layout:set', layout: 'presentation' });
    expect(shouldFlow(s, B, A, 'camera')).toBe(false);
    expect(shouldFlow(s, B, chair, 'screen')).toBe(true);
  });
});

describe('the central bridge is one room', () => {
  it("its consoles do not receive each other's microphones, but do see each other's cameras", () => {
    const s = base();
    expect(shouldPrepare(s, wall, chair, 'microphone')).toBe(false);
    expect(shouldPrepare(s, operator, chair, 'microphone')).toBe(false);
    expect(shouldPrepare(s, wall, chair, 'camera')).toBe(true);
    expect(shouldPrepare(s, A, chair, 'microphone')).toBe(true);
  });

  it('tiles of central grids get the lowest layer, the programme the highest', () => {
    let s = run(base(), A, { type: 'floor:request', title: 't' });
    expect(preferredLayer(s, wall, A)).toBe('low');
    expect(preferredLayer(s, B, chair)).toBe('high');
    s = run(s, chair, { type: 'floor:next' });
    expect(preferredLayer(s, wall, A)).toBe('high');
    expect(preferredLayer(s, wall, B)).toBe('low');
    expect(preferredLayer(s, B, A)).toBe('high');
  });

  it('while a site is on air the chair is a small tile at the halls: the middle layer, except in the grid and at the speaker', () => {
    let s = run(base(), A, { type: 'floor:request', title: 't' });
    expect(preferredLayer(s, B, chair)).toBe('high'); // nobody on air: the chair is the programme
    s = run(s, chair, { type: 'floor:next' });
    expect(preferredLayer(s, B, chair)).toBe('mid');
    expect(preferredLayer(s, A, chair)).toBe('high'); // the speaker's hall sees the chair large
    expect(preferredLayer(s, wall, chair)).toBe('high');
    s = run(s, chair, { type: 'layout:set', layout: 'grid' });
    expect(preferredLayer(s, B, chair)).toBe('high');
  });

  it('dynacast: a publisher is asked for the highest layer anyone watching wants, never less than the low one', () => {
    const everyone = [chair, wall, operator, A, B, C];
    let s = run(base(), A, { type: 'floor:request', title: 't' });
    s = run(s, B, { type: 'floor:request', title: 't' });
    expect(wantedLayer(s, everyone, A)).toBe('high'); // in the queue: ready for HD at the grant
    expect(wantedLayer(s, everyone, B)).toBe('high');
    expect(wantedLayer(s, everyone, C)).toBe('low'); // not asking: only the grids show it
    expect(wantedLayer(s, everyone, chair)).toBe('high'); // nobody on air: the chair is the programme
    expect(wantedLayer(s, [], B)).toBe('low'); // nobody watching: still the low layer
    s = run(s, chair, { type: 'floor:next' });
    expect(wantedLayer(s, everyone, A)).toBe('high'); // on air
    expect(wantedLayer(s, everyone, B)).toBe('high'); // still in the queue
    expect(wantedLayer(s, everyone, C)).toBe('low');
    expect(wantedLayer(s, everyone, chair)).toBe('high'); // the speaker's hall sees the chair large
    expect(wantedLayer(s, [wall, B, C], chair)).toBe('high'); // and the wall
    expect(wantedLayer(s, [B, C], chair)).toBe('mid'); // the other halls: a small tile
    expect(wantedLayer(s, [A], A)).toBe('low'); // a hall does not watch itself
  });
});

describe('who may publish', () => {
  it('only the presentation holder publishes a presentation; the wall and operators publish nothing', () => {
    let s = base();
    expect(mayPublish(s, A, 'screen')).toBe(false);
    s = run(s, chair, { type: 'presentation:give', to: { kind: 'site', code: 'a' } });
    expect(mayPublish(s, A, 'screen')).toBe(true);
    expect(mayPublish(s, chair, 'screen')).toBe(false);
    expect(mayPublish(s, A, 'camera')).toBe(true);
    expect(mayPublish(s, wall, 'camera')).toBe(false);
    expect(mayPublish(s, operator, 'microphone')).toBe(false);
  });
});
