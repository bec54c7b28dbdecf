/**
 * The conference rules, pure: (state, command, actor, now) → new state + minutes, or a
 * CoreError and nothing changed. No I/O, no timers, no Date: the caller passes `now`,
 * and asks `nextDeadline()` when to call `tick()` again.
 */
import type { Command, SystemEvent } from './commands';
import { badRequest, forbidden, notFound, wrongState } from './errors';
import type {
  Actor,
  ConferenceState,
  FloorEndReason,
  FloorRequest,
  FloorSettings,
  MinuteEntry,
  MinuteType,
  Phase,
  SiteState,
} from './model';

export interface Outcome {
  state: ConferenceState;
  minutes: MinuteEntry[];
}

export interface ConferenceInit {
  id: string;
  title: string;
  sites: Omit<SiteState, 'rollCall'>[];
  /** The principal that holds the chair at the start. */
  chair: string;
  /** Who may hold the chair (handover targets); default: the chair and the co-chair. */
  chairEligible?: string[];
  settings: FloorSettings;
}

/** The central people who may hold the chair, for states stored before `chairEligible` existed. */
export const DEFAULT_CHAIR_ELIGIBLE: readonly string[] = ['chair', 'cochair'];

/** Who may hold the chair in this state (older stored states lack the field). */
export function chairEligible(s: ConferenceState): readonly string[] {
  return s.chairEligible ?? DEFAULT_CHAIR_ELIGIBLE;
}

export function createConference(init: ConferenceInit): ConferenceState {
  return {
    id: init.id,
    title: init.title,
    phase: 'scheduled',
    chairHolder: init.chair,
    chairEligible: [...new Set(init.chairEligible ?? [init.chair, 'cochair'])],
    sites: init.sites.map((s) => ({ ...s, rollCall: 'unknown' })),
    queue: [],
    onAir: null,
    presentation: null,
    agenda: { items: [], current: -1 },
    layout: 'speaker',
    settings: { ...init.settings },
    nextRequest: 1,
    nextMinute: 1,
  };
}

const MAX_QUEUE = 200;
const MAX_AGENDA = 100;
/** Decks kept per conference: each is a directory of page images on disk. */
const MAX_DECKS = 200;

/** A working copy and the minutes it produces; thrown errors leave the original untouched. */
class Draft {
  readonly minutes: MinuteEntry[] = [];
  constructor(
    readonly s: ConferenceState,
    readonly now: number,
    readonly actor: string | null,
  ) {}

  log(type: MinuteType, siteCode: string | null, data: MinuteEntry['data'] = {}): void {
    this.minutes.push({ seq: this.s.nextMinute++, at: this.now, type, actor: this.actor, siteCode, data });
  }
}

const isChairHolder = (s: ConferenceState, a: Actor) =>
  (a.role === 'chair' || a.role === 'cochair') && s.chairHolder === a.principal;

function requireChair(s: ConferenceState, a: Actor): void {
  if (!isChairHolder(s, a)) throw forbidden('only the chair may do this');
}

function requireChairOrOperator(s: ConferenceState, a: Actor): void {
  if (!isChairHolder(s, a) && a.role !== 'operator')
    throw forbidden('only the chair or an operator may do this');
}

/** Takes the deck page off the screens (minuted), when one is shown. */
function closeSlide(d: Draft): void {
  if (!d.s.slide) return;
  d.log('slide.closed', null, { deck: d.s.slide.deckId, page: d.s.slide.page });
  d.s.slide = null;
}

/** Whether the actor holds the presentation token (as its hall, or as the person named). */
function holdsPresentation(s: ConferenceState, a: Actor): boolean {
  const p = s.presentation;
  return (
    p !== null &&
    ((p.kind === 'site' && a.role === 'site' && a.siteCode === p.code) ||
      (p.kind === 'person' && a.principal === p.principal))
  );
}

/** The presentation holder (a hall, or a person) or whoever holds the chair. */
function requirePresenter(s: ConferenceState, a: Actor): void {
  if (!holdsPresentation(s, a) && !isChairHolder(s, a))
    throw forbidden('only the presentation holder or the chair may show a deck');
}

/** A deck of this conference by id (states stored by older versions have none). */
const findDeck = (s: ConferenceState, id: string) => (s.decks ?? []).find((x) => x.id === id);

function requirePhase(s: ConferenceState, allowed: Phase[], what: string): void {
  if (!allowed.includes(s.phase))
    throw wrongState(`${what} is not possible while the conference is ${s.phase}`);
}

function site(s: ConferenceState, code: string): SiteState {
  const found = s.sites.find((x) => x.code === code);
  if (!found) throw notFound(`no site "${code}" in this conference`);
  return found;
}

function requestIndex(s: ConferenceState, id: string): number {
  const i = s.queue.findIndex((r) => r.id === id);
  if (i < 0) throw notFound(`no floor request "${id}" in the queue`);
  return i;
}

function endFloor(d: Draft, reason: FloorEndReason): void {
  const on = d.s.onAir;
  if (!on) return;
  d.log('floor.ended', on.siteCode, {
    requestId: on.requestId,
    title: on.title,
    reason,
    allottedSec: Math.round(on.allottedMs / 1000),
    actualSec: Math.round((d.now - on.grantedAt) / 1000),
    ...(on.recording ? { recording: on.recording } : {}),
  });
  d.s.onAir = null;
}

function allottedFor(s: ConferenceState, siteCode: string, explicitSec?: number): number {
  if (explicitSec !== undefined) return explicitSec;
  const item = s.agenda.items[s.agenda.current];
  if (item?.allottedSec && item.speakerSite === siteCode) return item.allottedSec;
  return s.settings.defaultAllottedSec;
}

function grant(d: Draft, req: FloorRequest, allottedSec: number, agendaItemId: string | null): void {
  requirePhase(d.s, ['in_session'], 'granting the floor');
  if (!Number.isInteger(allottedSec) || allottedSec < 10 || allottedSec > 3 * 3600) {
    throw badRequest('allotted time must be 10 s to 3 h');
  }
  if (d.s.onAir) endFloor(d, 'next');
  d.s.queue = d.s.queue.filter((r) => r.id !== req.id);
  const allottedMs = allottedSec * 1000;
  d.s.onAir = {
    requestId: req.id,
    siteCode: req.siteCode,
    title: req.title,
    grantedAt: d.now,
    allottedMs,
    endsAt: d.now + allottedMs,
    warned: false,
    expired: false,
    agendaItemId,
    // Granted to a site that is lost and held: its clock waits for it.
    ...(d.s.away?.[req.siteCode] ? { pausedAt: d.now } : {}),
  };
  d.log('floor.granted', req.siteCode, { requestId: req.id, title: req.title, allottedSec });
}

function newRequest(d: Draft, siteCode: string, title: string, by: string): FloorRequest {
  return { id: `r${d.s.nextRequest++}`, siteCode, title, requestedAt: d.now, by };
}

type Handler<C extends Command> = (d: Draft, cmd: C, a: Actor) => void;
type Handlers = { [T in Command['type']]: Handler<Extract<Command, { type: T }>> };

const lifecycle =
  (from: Phase[], to: Phase, minute: MinuteType): Handler<Command> =>
  (d, _cmd, a) => {
    requireChair(d.s, a);
    requirePhase(d.s, from, `moving to ${to}`);
    if (to === 'concluded') {
      endFloor(d, 'concluded');
      for (const r of d.s.queue)
        d.log('floor.rejected', r.siteCode, { requestId: r.id, reason: 'concluded' });
      d.s.queue = [];
    }
    if (to === 'closed') stopRecording(d, 'closed');
    d.s.phase = to;
    d.log(minute, null);
  };

/** Ends the programme recording in the state (minuted); its recorder follows the state. */
function stopRecording(d: Draft, reason: 'stopped' | 'closed'): void {
  const rec = d.s.recording;
  if (!rec) return;
  d.log('recording.stopped', null, {
    reason,
    since: rec.since,
    durationSec: Math.round((d.now - rec.since) / 1000),
  });
  d.s.recording = null;
}

const HANDLERS: Handlers = {
  'conference:open': lifecycle(['scheduled'], 'open', 'conference.opened'),
  'conference:start': lifecycle(['open'], 'in_session', 'conference.started'),
  'conference:conclude': lifecycle(['in_session'], 'concluded', 'conference.concluded'),
  'conference:close': lifecycle(['concluded'], 'closed', 'conference.closed'),

  'chair:handover': (d, { to }, a) => {
    requireChairOrOperator(d.s, a);
    if (!chairEligible(d.s).includes(to)) {
      throw forbidden(`the chair may be handed only to ${chairEligible(d.s).join(' or ')}`);
    }
    if (to === d.s.chairHolder) throw wrongState('that person already holds the chair');
    const from = d.s.chairHolder;
    d.s.chairHolder = to;
    d.log('chair.handed', null, { from, to });
  },

  'floor:request': (d, { title, siteCode }, a) => {
    requirePhase(d.s, ['open', 'in_session'], 'requesting the floor');
    let code = a.siteCode;
    if (siteCode !== undefined && siteCode !== a.siteCode) {
      if (a.role === 'site') throw forbidden('a site may request the floor only for itself');
      requireChairOrOperator(d.s, a);
      code = siteCode;
    } else if (a.role === 'wall' || a.role === 'recorder') {
      throw forbidden(`the ${a.role === 'wall' ? 'video wall' : 'recorder'} cannot request the floor`);
    }
    site(d.s, code);
    if (d.s.queue.some((r) => r.siteCode === code)) throw wrongState('this site is already in the queue');
    if (d.s.onAir?.siteCode === code) throw wrongState('this site already has the floor');
    if (d.s.queue.length >= MAX_QUEUE) throw wrongState('the queue is full');
    const req = newRequest(d, code, title, a.principal);
    d.s.queue.push(req);
    d.log('floor.requested', code, { requestId: req.id, title });
  },

  'floor:withdraw': (d, { requestId }, a) => {
    const i = requestIndex(d.s, requestId);
    const req = d.s.queue[i] as FloorRequest;
    const own = a.role === 'site' && req.siteCode === a.siteCode;
    if (!own) requireChairOrOperator(d.s, a);
    d.s.queue.splice(i, 1);
    d.log('floor.withdrawn', req.siteCode, { requestId });
  },

  'floor:reorder': (d, { requestId, toIndex }, a) => {
    requireChair(d.s, a);
    const i = requestIndex(d.s, requestId);
    if (!Number.isInteger(toIndex) || toIndex < 0 || toIndex >= d.s.queue.length) {
      throw badRequest(`toIndex must be 0 to ${d.s.queue.length - 1}`);
    }
    const [req] = d.s.queue.splice(i, 1) as [FloorRequest];
    d.s.queue.splice(toIndex, 0, req);
    d.log('floor.reordered', req.siteCode, { requestId, from: i, to: toIndex });
  },

  'floor:grant': (d, { requestId, allottedSec }, a) => {
    requireChair(d.s, a);
    const req = d.s.queue[requestIndex(d.s, requestId)] as FloorRequest;
    grant(d, req, allottedFor(d.s, req.siteCode, allottedSec), null);
  },

  'floor:next': (d, _cmd, a) => {
    requireChair(d.s, a);
    const req = d.s.queue[0];
    if (!req) throw wrongState('the queue is empty');
    grant(d, req, allottedFor(d.s, req.siteCode), null);
  },

  'floor:skip': (d, { requestId }, a) => {
    requireChair(d.s, a);
    const i = requestIndex(d.s, requestId);
    const [req] = d.s.queue.splice(i, 1) as [FloorRequest];
    d.s.queue.push(req);
    d.log('floor.skipped', req.siteCode, { requestId });
  },

  'floor:reject': (d, { requestId, reason }, a) => {
    requireChair(d.s, a);
    const i = requestIndex(d.s, requestId);
    const [req] = d.s.queue.splice(i, 1) as [FloorRequest];
    d.log('floor.rejected', req.siteCode, { requestId, reason: reason ?? null });
  },

  'floor:revoke': (d, _cmd, a) => {
    requireChair(d.s, a);
    if (!d.s.onAir) throw wrongState('nobody has the floor');
    endFloor(d, 'revoked');
  },

  /** The speaker's connection is lost: the chair keeps the floor for it beyond its hold. */
  'floor:keep': (d, _cmd, a) => {
    requireChair(d.s, a);
    const on = d.s.onAir;
    if (!on) throw wrongState('nobody has the floor');
    if (on.pausedAt === undefined) throw wrongState('the speaking site is connected');
    if (on.kept) return;
    on.kept = true;
    d.log('floor.kept', on.siteCode, { requestId: on.requestId });
  },

  'floor:extend': (d, { seconds }, a) => {
    requireChair(d.s, a);
    const on = d.s.onAir;
    if (!on) throw wrongState('nobody has the floor');
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > 3600)
      throw badRequest('seconds must be 1 to 3600');
    on.allottedMs += seconds * 1000;
    on.endsAt += seconds * 1000;
    on.warned = (on.pausedAt ?? d.now) >= on.endsAt - d.s.settings.warningSec * 1000;
    on.expired = false;
    d.log('floor.extended', on.siteCode, { requestId: on.requestId, seconds });
  },

  'presentation:give': (d, { to }, a) => {
    requireChair(d.s, a);
    requirePhase(d.s, ['open', 'in_session', 'concluded'], 'presenting');
    if (to.kind === 'site') site(d.s, to.code);
    d.s.presentation = to;
    // The new holder chooses what to show: a deck page left by the old one goes.
    closeSlide(d);
    d.log('presentation.changed', to.kind === 'site' ? to.code : null, {
      holder: to.kind === 'site' ? `site:${to.code}` : `person:${to.principal}`,
    });
  },

  'presentation:release': (d, _cmd, a) => {
    if (!d.s.presentation) throw wrongState('nobody holds the presentation');
    if (!holdsPresentation(d.s, a)) requireChair(d.s, a);
    d.s.presentation = null;
    closeSlide(d);
    d.log('presentation.changed', null, { holder: null });
  },

  'agenda:set': (d, { items }, a) => {
    requireChairOrOperator(d.s, a);
    requirePhase(d.s, ['scheduled', 'open', 'in_session'], 'changing the agenda');
    if (items.length > MAX_AGENDA) throw badRequest(`at most ${MAX_AGENDA} agenda items`);
    for (const it of items) {
      if (it.speakerSite) site(d.s, it.speakerSite);
      if (it.deckId && !findDeck(d.s, it.deckId)) throw notFound(`no deck "${it.deckId}"`);
    }
    d.s.agenda = {
      items: items.map((it, i) => ({
        id: `a${i + 1}`,
        kind: it.kind,
        title: it.title,
        allottedSec: it.allottedSec ?? null,
        speakerSite: it.speakerSite ?? null,
        deckId: it.deckId ?? null,
      })),
      current: items.length ? Math.min(Math.max(d.s.agenda.current, -1), items.length - 1) : -1,
    };
    d.log('agenda.set', null, { items: items.length });
  },

  'agenda:next': (d, _cmd, a) => {
    requireChair(d.s, a);
    moveAgenda(d, d.s.agenda.current + 1);
  },

  'agenda:goto': (d, { index }, a) => {
    requireChair(d.s, a);
    moveAgenda(d, index);
  },

  'agenda:grant': (d, _cmd, a) => {
    requireChair(d.s, a);
    const item = d.s.agenda.items[d.s.agenda.current];
    if (!item) throw wrongState('no current agenda item');
    if (!item.speakerSite) throw wrongState('the current agenda item has no speaker site');
    const queued = d.s.queue.find((r) => r.siteCode === item.speakerSite);
    const req = queued ?? newRequest(d, item.speakerSite, item.title, a.principal);
    grant(
      d,
      { ...req, title: queued?.title ?? item.title },
      item.allottedSec ?? d.s.settings.defaultAllottedSec,
      item.id,
    );
    // The item's deck opens with the floor: the speaking hall holds the presentation (it turns
    // the pages), page 1 is on every screen, and a layout without the presentation gains it.
    const deck = item.deckId ? findDeck(d.s, item.deckId) : undefined;
    if (deck) {
      d.s.presentation = { kind: 'site', code: item.speakerSite };
      d.log('presentation.changed', item.speakerSite, { holder: `site:${item.speakerSite}` });
      d.s.slide = { deckId: deck.id, page: 1 };
      d.log('slide.shown', null, { deck: deck.id, title: deck.title, page: 1 });
      if (d.s.layout === 'speaker') {
        d.s.layout = 'speaker_presentation';
        d.log('layout.changed', null, { layout: d.s.layout });
      }
    }
  },

  'layout:set': (d, { layout }, a) => {
    requireChair(d.s, a);
    if (d.s.layout === layout) return;
    d.s.layout = layout;
    d.log('layout.changed', null, { layout });
  },

  'slide:show': (d, { deckId, page }, a) => {
    requirePresenter(d.s, a);
    requirePhase(d.s, ['open', 'in_session', 'concluded'], 'presenting');
    const deck = findDeck(d.s, deckId);
    if (!deck) throw notFound(`no deck "${deckId}"`);
    const at = page ?? 1;
    if (at > deck.pages) throw badRequest(`the deck has ${deck.pages} pages`);
    d.s.slide = { deckId, page: at };
    d.log('slide.shown', null, { deck: deckId, title: deck.title, page: at });
  },

  'slide:page': (d, { page }, a) => {
    requirePresenter(d.s, a);
    const slide = d.s.slide;
    if (!slide) throw wrongState('no deck is shown');
    const deck = findDeck(d.s, slide.deckId);
    if (!deck) throw notFound('the deck is gone');
    if (page > deck.pages) throw badRequest(`the deck has ${deck.pages} pages`);
    if (page === slide.page) return;
    d.s.slide = { deckId: slide.deckId, page };
    d.log('slide.shown', null, { deck: slide.deckId, title: deck.title, page });
  },

  'slide:close': (d, _cmd, a) => {
    requirePresenter(d.s, a);
    if (!d.s.slide) throw wrongState('no deck is shown');
    closeSlide(d);
  },

  'recording:start': (d, _cmd, a) => {
    requireChairOrOperator(d.s, a);
    if (d.s.recording) throw wrongState('the programme is already being recorded');
    d.s.recording = { since: d.now, by: a.principal };
    d.log('recording.started', null, {});
  },

  'recording:stop': (d, _cmd, a) => {
    requireChairOrOperator(d.s, a);
    if (!d.s.recording) throw wrongState('the programme is not being recorded');
    stopRecording(d, 'stopped');
  },

  'rollcall:mark': (d, { siteCode, status }, a) => {
    requireChairOrOperator(d.s, a);
    const st = site(d.s, siteCode);
    st.rollCall = status;
    d.log('rollcall.marked', siteCode, { status });
  },
};

function moveAgenda(d: Draft, index: number): void {
  requirePhase(d.s, ['open', 'in_session'], 'moving through the agenda');
  if (!Number.isInteger(index) || index < 0 || index >= d.s.agenda.items.length) {
    throw badRequest(
      d.s.agenda.items.length
        ? `agenda index must be 0 to ${d.s.agenda.items.length - 1}`
        : 'the agenda is empty',
    );
  }
  const from = d.s.agenda.current;
  d.s.agenda.current = index;
  const item = d.s.agenda.items[index];
  d.log('agenda.moved', item?.speakerSite ?? null, { from, to: index, title: item?.title ?? '' });
}

/** Applies a command from an actor. Throws CoreError; on error the given state is unchanged. */
export function execute(state: ConferenceState, cmd: Command, actor: Actor, now: number): Outcome {
  if (state.phase === 'closed') throw wrongState('the conference is closed');
  const handler = HANDLERS[cmd.type] as Handler<Command> | undefined;
  if (!handler) throw badRequest(`unknown command ${String(cmd.type)}`);
  const d = new Draft(structuredClone(state), now, actor.principal);
  handler(d, cmd, actor);
  return { state: d.s, minutes: d.minutes };
}

/** Connections and disconnections, recorded in the minutes. */
export function observe(state: ConferenceState, ev: SystemEvent, now: number): Outcome {
  const d = new Draft(structuredClone(state), now, null);
  if (ev.type === 'deck:added') {
    if ((d.s.decks ?? []).length >= MAX_DECKS) throw badRequest(`at most ${MAX_DECKS} decks`);
    d.s.decks = [...(d.s.decks ?? []).filter((x) => x.id !== ev.deck.id), ev.deck];
    d.log('deck.added', null, {
      deck: ev.deck.id,
      title: ev.deck.title,
      pages: ev.deck.pages,
      by: ev.deck.uploadedBy,
    });
    return { state: d.s, minutes: d.minutes };
  }
  if (ev.type === 'recording:statement') {
    // Only the statement it was started for: a floor that moved meanwhile is not this one.
    if (d.s.onAir?.requestId !== ev.requestId) return { state, minutes: [] };
    d.s.onAir.recording = ev.recording;
    return { state: d.s, minutes: [] };
  }
  if (ev.type === 'recording:saved') {
    const f = ev.file;
    d.log('recording.saved', f.siteCode, {
      recording: f.id,
      kind: f.kind,
      requestId: f.requestId,
      durationSec: f.durationMs === null ? null : Math.round(f.durationMs / 100) / 10,
      bytes: f.bytes,
    });
    return { state: d.s, minutes: d.minutes };
  }
  if (ev.type === 'recording:failed') {
    d.log('recording.failed', ev.siteCode, {
      kind: ev.kind,
      recording: ev.recording,
      message: ev.message.slice(0, 300),
    });
    // The programme recorder cannot go on (a full disk): it is no longer recording.
    if (ev.kind === 'programme' && ev.final && d.s.recording) d.s.recording = null;
    return { state: d.s, minutes: d.minutes };
  }
  site(d.s, ev.siteCode);
  const away = d.s.away?.[ev.siteCode];
  const on = d.s.onAir?.siteCode === ev.siteCode ? d.s.onAir : null;
  if (ev.type === 'site:lost') {
    if (away) return { state, minutes: [] }; // already held: the first loss counts
    const since = Math.min(now, ev.silentSince ?? now);
    d.s.away = { ...d.s.away, [ev.siteCode]: { since, releaseAt: now + ev.holdMs } };
    // Its time stops from when it went silent (not granted since: then from the grant).
    if (on && on.pausedAt === undefined) on.pausedAt = Math.max(since, on.grantedAt);
    d.log('site.lost', ev.siteCode, {
      holdSec: Math.round(ev.holdMs / 1000),
      silentSec: Math.round((now - since) / 1000),
      ...(on ? { remainingSec: Math.max(0, Math.round((on.endsAt - on.pausedAt!) / 1000)) } : {}),
    });
  } else if (ev.type === 'site:connected' && away) {
    // Back within its hold: everything it held is as it was, its remaining time too.
    dropAway(d.s, ev.siteCode);
    if (on?.pausedAt !== undefined) resume(on, now);
    d.log('site.back', ev.siteCode, { awaySec: Math.round((now - away.since) / 1000) });
  } else if (ev.type === 'site:connected' && on?.pausedAt !== undefined) {
    // Released, but the chair kept its floor: it speaks on with the time it had left.
    resume(on, now);
    d.log('site.back', ev.siteCode, { kept: true });
  } else {
    d.log(ev.type === 'site:connected' ? 'site.joined' : 'site.left', ev.siteCode);
  }
  return { state: d.s, minutes: d.minutes };
}

function dropAway(s: ConferenceState, code: string): void {
  if (!s.away) return;
  const { [code]: _gone, ...rest } = s.away;
  s.away = Object.keys(rest).length ? rest : undefined;
}

/** The speaker's clock runs again with the time it had left when its connection went; a kept floor is ordinary again. */
function resume(on: NonNullable<ConferenceState['onAir']>, now: number): void {
  on.endsAt += now - (on.pausedAt as number);
  delete on.pausedAt;
  delete on.kept;
}

/** A lost site not back in time: its floor ends, its requests leave the queue, its presentation goes. */
function release(d: Draft, code: string): void {
  dropAway(d.s, code);
  const released: string[] = [];
  if (d.s.onAir?.siteCode === code && !d.s.onAir.kept) {
    endFloor(d, 'lost');
    released.push('floor');
  }
  const withdrawn = d.s.queue.filter((r) => r.siteCode === code);
  d.s.queue = d.s.queue.filter((r) => r.siteCode !== code);
  for (const req of withdrawn) d.log('floor.withdrawn', code, { requestId: req.id, reason: 'lost' });
  if (withdrawn.length) released.push('queue');
  const p = d.s.presentation;
  if (p?.kind === 'site' && p.code === code) {
    d.s.presentation = null;
    closeSlide(d);
    d.log('presentation.changed', null, { holder: null, reason: 'lost' });
    released.push('presentation');
  }
  d.log('site.released', code, { released: released.join(',') || 'nothing' });
}

/** Advances time: the warning before the end, expiry, and (by policy) the end after the grace period. */
export function tick(state: ConferenceState, now: number): Outcome {
  const due = Object.entries(state.away ?? {})
    .filter(([, a]) => now >= a.releaseAt)
    .map(([code]) => code);
  const on = state.onAir;
  // A paused clock (its site lost) neither warns nor expires until it runs again.
  const running = on && on.pausedAt === undefined ? on : null;
  const warnAt = running ? running.endsAt - state.settings.warningSec * 1000 : Infinity;
  const endAt = running ? running.endsAt + state.settings.graceSec * 1000 : Infinity;
  const floorDue =
    running !== null &&
    ((!running.warned && now >= warnAt) ||
      (!running.expired && now >= running.endsAt) ||
      (state.settings.expiry === 'end' && now >= endAt));
  if (!floorDue && due.length === 0) return { state, minutes: [] };
  const d = new Draft(structuredClone(state), now, null);
  for (const code of due) release(d, code);
  const cur = d.s.onAir;
  if (floorDue && cur && cur.pausedAt === undefined) {
    if (!cur.warned && now >= warnAt) {
      cur.warned = true;
      d.log('floor.warning', cur.siteCode, {
        requestId: cur.requestId,
        remainingSec: Math.max(0, Math.round((cur.endsAt - now) / 1000)),
      });
    }
    if (!cur.expired && now >= cur.endsAt) {
      cur.expired = true;
      d.log('floor.expired', cur.siteCode, { requestId: cur.requestId, policy: state.settings.expiry });
    }
    if (state.settings.expiry === 'end' && now >= endAt) endFloor(d, 'expired');
  }
  return { state: d.s, minutes: d.minutes };
}

/** When `tick` next has something to do, or null. */
export function nextDeadline(state: ConferenceState): number | null {
  const times = Object.values(state.away ?? {}).map((a) => a.releaseAt);
  const on = state.onAir;
  if (on && on.pausedAt === undefined) {
    if (!on.warned) times.push(Math.min(on.endsAt - state.settings.warningSec * 1000, on.endsAt));
    else if (!on.expired) times.push(on.endsAt);
    else if (state.settings.expiry === 'end') times.push(on.endsAt + state.settings.graceSec * 1000);
  }
  return times.length ? Math.min(...times) : null;
}
