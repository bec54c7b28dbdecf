/**
 * After a change is stored, nothing a listener does can undo it: a listener that throws neither
 * keeps the others from hearing of the change, nor turns it into an error for the caller, nor
 * stops the process on the timer path (floor warning, expiry).
 */
import type { ConferenceInit } from '../../server/src/core/conference';
import type { Actor, ConferenceState } from '../../server/src/core/model';
import { setLogSink } from '../../server/src/logger';
import { ConferenceService } from '../../server/src/service/ConferenceService';
import { MemoryStore } from '../../server/src/store/store';
import { FakeClock } from '../helpers/fakeClock';

const chair: Actor = { role: 'chair', principal: 'chair', siteCode: 'tw' };
const A: Actor = { role: 'site', principal: 'a', siteCode: 'a' };
const INIT: ConferenceInit = {
  id: 'conf',
  title: 'Hội nghị',
  chair: 'chair',
  settings: { defaultAllottedSec: 60, warningSec: 10, expiry: 'end', graceSec: 5 },
  sites: [
    { code: 'tw', name: 'Trung ương', kind: 'central' },
    { code: 'a', name: 'Hà Nội', kind: 'city' },
  ],
};

let logged: string[] = [];
let restore: (line: string) => void;
beforeEach(() => {
  logged = [];
  restore = setLogSink((l) => logged.push(l));
});
afterEach(() => setLogSink(restore));

function onAir(service: ConferenceService, clock: FakeClock): void {
  service.execute(chair, { type: 'conference:open' });
  service.execute(chair, { type: 'conference:start' });
  service.execute(A, { type: 'floor:request', title: 'Tham luận' });
  const id = service.state.queue[0]?.id as string;
  clock.advance(1);
  service.execute(chair, { type: 'floor:grant', requestId: id });
}

describe('ConferenceService listeners', () => {
  it('a throwing listener: the command still succeeds, is stored, and later listeners still hear it', () => {
    const clock = new FakeClock(1_700_000_000_000);
    const store = new MemoryStore();
    const service = ConferenceService.open(INIT, store, clock);
    const heard: ConferenceState[] = [];
    service.on('changed', () => {
      throw new Error('reconcile bug');
    });
    service.on('changed', (s) => heard.push(s));
    expect(() => service.execute(chair, { type: 'conference:open' })).not.toThrow();
    expect(service.state.phase).toBe('open');
    expect(store.load('conf')?.state.phase).toBe('open');
    expect(heard.map((s) => s.phase)).toEqual(['open']);
    expect(logged.join('\n')).toMatch(/listener of conference changes failed.*reconcile bug/);
  });

  it('on the timer path (warning, expiry) a throwing listener does not throw out of the timer', () => {
    const clock = new FakeClock(1_700_000_000_000);
    const service = ConferenceService.open(INIT, new MemoryStore(), clock);
    onAir(service, clock);
    const heard: string[] = [];
    service.on('changed', () => {
      throw new Error('media bug');
    });
    service.on('changed', (_s, minutes) => heard.push(...minutes.map((m) => m.type)));
    expect(() => clock.advance(50_000)).not.toThrow(); // the warning
    expect(() => clock.advance(20_000)).not.toThrow(); // the end and the grace
    expect(heard).toEqual(expect.arrayContaining(['floor.warning']));
    expect(service.state.onAir).toBeNull();
  });

  it('a failing commit on the timer path is retried, not lost and not thrown', () => {
    const clock = new FakeClock(1_700_000_000_000);
    const store = new MemoryStore();
    const service = ConferenceService.open(INIT, store, clock);
    onAir(service, clock);
    const commit = store.commit.bind(store);
    let failures = 1;
    store.commit = (s, m) => {
      if (failures-- > 0) throw new Error('disk full');
      commit(s, m);
    };
    expect(() => clock.advance(50_000)).not.toThrow();
    expect(logged.join('\n')).toMatch(/deadline processing failed; retrying/);
    clock.advance(1000);
    expect(store.minutes('conf').map((m) => m.type)).toContain('floor.warning');
  });
});
