/**
 * What the programme recorder page (/recorder, ./main.ts) and the server that drives it agree on.
 * Types only: the server (or a test) opens the page headless with a `recorder` credential in the
 * fragment (`/recorder#t=…`) and exposes the egress functions before the page loads, either as one
 * object `window.hoinghiEgress` (an init script) or as two functions `window.hoinghiEgress_chunk` /
 * `window.hoinghiEgress_status` (playwright's `page.exposeFunction`). The page looks them up each
 * time it calls them.
 */

/** What the page tells the server about itself. */
export type EgressStatus = { state: 'recording' } | { state: 'error'; message: string };

export interface Egress {
  /**
   * One piece of the WebM (about a second, in order; the first carries the header), base64. The
   * page waits for the returned promise before it hands over the next one.
   */
  chunk(base64: string): unknown;
  status?(status: EgressStatus): unknown;
}

/** `window.hoinghiRecorder`: the page's figures (read them with page.evaluate) and its stop. */
export interface RecorderGlobal {
  /** Set once joined and the MediaRecorder started. */
  ready: boolean;
  /** WebM pieces produced, and their bytes (counted whether or not an egress takes them). */
  chunks: number;
  bytes: number;
  /** Canvas frames drawn since the page opened. */
  frames: number;
  /** The last problem, in words (also sent as an 'error' status when it stops the recording). */
  lastError: string | null;
  /** The loudest level (RMS, 0…1) of the mixed sound since the last call. */
  audioPeak(): number;
  /**
   * Stops the MediaRecorder and leaves the conference; resolves once the last piece was handed
   * to the egress (the WebM then ends cleanly). Safe to call more than once, or before joining.
   */
  stop(): Promise<void>;
}

declare global {
  interface Window {
    hoinghiEgress?: Egress;
    hoinghiEgress_chunk?: Egress['chunk'];
    hoinghiEgress_status?: Egress['status'];
    hoinghiRecorder?: RecorderGlobal;
  }
}
