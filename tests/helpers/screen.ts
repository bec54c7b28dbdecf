/** Screen sharing in tests: a page with a stand-in screen, and what its controller and videos say. */
import type { Browser, Page } from 'playwright-core';
import type { Ack } from '../../protocol/events';
import { participant } from './conferenceClient';
import type { TestServer } from './testServer';

/**
 * A page whose screen chooser returns a moving 1280×720 canvas with Vietnamese text (headless
 * Chromium has no screen to capture). Everything after getDisplayMedia is the real path.
 */
export async function openScreenPage(browser: Browser, url: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  await context.addInitScript(() => {
    // What the test reads back: every screen track handed out, every peer connection made.
    const w = window as unknown as { screenTracks: MediaStreamTrack[]; peerConnections: RTCPeerConnection[] };
    w.screenTracks = [];
    w.peerConnections = [];
    const Native = window.RTCPeerConnection;
    window.RTCPeerConnection = class extends Native {
      constructor(config?: RTCConfiguration) {
        super(config);
        w.peerConnections.push(this);
      }
    };
    navigator.mediaDevices.getDisplayMedia = async () => {
      const canvas = document.createElement('canvas');
      canvas.width = 1280;
      canvas.height = 720;
      const g = canvas.getContext('2d') as CanvasRenderingContext2D;
      let n = 0;
      const draw = () => {
        g.fillStyle = '#f4f1e8';
        g.fillRect(0, 0, 1280, 720);
        g.fillStyle = '#7a1712';
        g.font = 'bold 64px sans-serif';
        g.fillText('Báo cáo kết quả công tác', 80, 200);
        g.fillStyle = '#222';
        g.font = '40px sans-serif';
        g.fillText(`Trang ${1 + (Math.floor(n / 20) % 9)} — phòng, chống dịch`, 80, 300);
        g.fillRect(80 + ((n * 7) % 1000), 400, 120, 40);
        n += 1;
      };
      draw();
      setInterval(draw, 100);
      const stream = canvas.captureStream(10);
      w.screenTracks.push(...stream.getVideoTracks());
      return stream;
    };
  });
  const page = await context.newPage();
  await page.goto(url);
  return page;
}

/**
 * The page's last screen capture as its sender encodes it: the track's content hint and state,
 * and the sender's encodings and degradation preference.
 */
export const screenCapture = (page: Page) =>
  page.evaluate(() => {
    const w = window as unknown as { screenTracks: MediaStreamTrack[]; peerConnections: RTCPeerConnection[] };
    const track = w.screenTracks[w.screenTracks.length - 1];
    const sender = w.peerConnections
      .filter((pc) => pc.connectionState !== 'closed')
      .flatMap((pc) => pc.getSenders())
      .find((x) => track !== undefined && x.track === track);
    const p = sender?.getParameters();
    return {
      contentHint: track?.contentHint,
      readyState: track?.readyState,
      sending: sender !== undefined,
      encodings: p?.encodings.map((e) => ({ rid: e.rid, scale: e.scaleResolutionDownBy })),
      degradationPreference: (p as { degradationPreference?: string } | undefined)?.degradationPreference,
    };
  });

/** Whether the page's controller is sharing its screen. */
export const sharing = (page: Page) =>
  page.evaluate(
    () =>
      (window as unknown as { hoinghi: { client: { sharingScreen: boolean } } }).hoinghi.client.sharingScreen,
  );

/** Frames presented by the video element at `selector` (0 when there is none). */
export async function framesOfScreen(page: Page, selector: string): Promise<number> {
  return page.evaluate((sel) => {
    const v = document.querySelector(sel) as HTMLVideoElement | null;
    return v ? v.getVideoPlaybackQuality().totalVideoFrames : 0;
  }, selector);
}

/**
 * What the server answers a site without the presentation token that publishes a presentation
 * through the protocol (a send transport, then a 'screen' producer): it must be FORBIDDEN.
 */
export async function presentWithoutToken(server: TestServer, code: string): Promise<Ack<unknown>> {
  const other = await participant(server, code);
  try {
    const t = (await other.send('transport:create', { direction: 'send' })) as Ack<{ id: string }>;
    if (!t.ok) return t;
    return await other.send('producer:create', {
      transportId: t.data.id,
      kind: 'video',
      source: 'screen',
      rtpParameters: { codecs: [], encodings: [] },
    });
  } finally {
    other.close();
  }
}
