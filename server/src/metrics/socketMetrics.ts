/**
 * Counts what happens at the socket.io edge without being part of it: every answer to a
 * protocol event (`hoinghi_commands_total`, `hoinghi_errors_total`), every successful join
 * (`hoinghi_joins_total`) and the end of every joined session with its reason
 * (`hoinghi_drops_total`). It wraps each request's acknowledgement in a socket middleware, so the
 * signalling code (signaling.ts) needs no metrics calls, and the answer counted is the one sent.
 *
 * Attach it after attachSignaling (its handshake sets `socket.data.actor`).
 */
import type { Ack } from '../../../protocol/events';
import { CLIENT_EVENTS, ErrorCode } from '../../../protocol/events';
import type { IoServer } from '../signaling/signaling';
import { createLogger } from '../logger';
import type { Metrics } from './metrics';

const log = createLogger('metrics');
const KNOWN: ReadonlySet<string> = new Set(CLIENT_EVENTS);

function isAck(v: unknown): v is Ack<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { ok?: unknown }).ok === 'boolean';
}

export function observeSockets(io: IoServer, metrics: Metrics): void {
  io.on('connection', (socket) => {
    let joined = false;
    /** The reason the server gave when it closed the session (session:closed), if it did. */
    let closedBecause: string | undefined;
    socket.onAnyOutgoing((event: string, payload: unknown) => {
      if (event === 'session:closed' && typeof payload === 'object' && payload !== null)
        closedBecause = String((payload as { reason?: unknown }).reason);
    });
    socket.use((packet, next) => {
      try {
        const [event] = packet;
        const last = packet.length - 1;
        const ack: unknown = packet[last];
        if (!KNOWN.has(event)) {
          // signaling.ts answers it (UNKNOWN_EVENT, or RATE_LIMITED past the budget) before any
          // middleware runs; it is counted under UNKNOWN_EVENT either way.
          metrics.error(ErrorCode.UnknownEvent);
        } else if (last > 0 && typeof ack === 'function') {
          packet[last] = (response: unknown) => {
            try {
              if (isAck(response)) {
                metrics.command(event, response.ok, response.ok ? undefined : response.error.code);
                if (response.ok && event === 'session:join') {
                  joined = true;
                  metrics.joined(socket.data.actor.role);
                }
              }
            } catch (e) {
              log.error('counting an answer failed', { event, error: e });
            }
            (ack as (r: unknown) => void)(response);
          };
        }
      } catch (e) {
        log.error('counting a request failed', { error: e });
      }
      next();
    });
    socket.on('disconnect', (reason) => {
      if (joined) metrics.dropped(closedBecause ?? reason);
    });
  });
}
