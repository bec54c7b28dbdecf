/**
 * Commands the conference core accepts. The names are the wire event names, so the
 * signalling edge maps one to one; payloads are already validated there.
 */
import type { AgendaKind, Layout, RollCall } from './model';

export interface AgendaItemInput {
  kind: AgendaKind;
  title: string;
  allottedSec?: number | null;
  speakerSite?: string | null;
}

export type PresentationTarget = { kind: 'site'; code: string } | { kind: 'person'; principal: string };

export type Command =
  | { type: 'conference:open' }
  | { type: 'conference:start' }
  | { type: 'conference:conclude' }
  | { type: 'conference:close' }
  | { type: 'chair:handover'; to: string }
  | { type: 'floor:request'; title: string; siteCode?: string }
  | { type: 'floor:withdraw'; requestId: string }
  | { type: 'floor:reorder'; requestId: string; toIndex: number }
  | { type: 'floor:grant'; requestId: string; allottedSec?: number }
  | { type: 'floor:next' }
  | { type: 'floor:skip'; requestId: string }
  | { type: 'floor:reject'; requestId: string; reason?: string }
  | { type: 'floor:revoke' }
  | { type: 'floor:extend'; seconds: number }
  | { type: 'presentation:give'; to: PresentationTarget }
  | { type: 'presentation:release' }
  | { type: 'agenda:set'; items: AgendaItemInput[] }
  | { type: 'agenda:next' }
  | { type: 'agenda:goto'; index: number }
  | { type: 'agenda:grant' }
  | { type: 'layout:set'; layout: Layout }
  | { type: 'rollcall:mark'; siteCode: string; status: RollCall };

export type CommandType = Command['type'];

/** Events from the system itself (connections), not from a person. */
export type SystemEvent =
  { type: 'site:connected'; siteCode: string } | { type: 'site:disconnected'; siteCode: string };
