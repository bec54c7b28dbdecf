/**
 * The recorder page's frame clock, in a worker: a worker's timers keep their pace when the page
 * is hidden or in the background, where the page's own timers are throttled to one a second and
 * requestAnimationFrame stops. Post it a period in ms to tick every period (0 stops it); each
 * tick is an empty message.
 */
let timer: ReturnType<typeof setInterval> | undefined;
addEventListener('message', (ev: MessageEvent<number>) => {
  clearInterval(timer);
  timer = ev.data > 0 ? setInterval(() => postMessage(null), ev.data) : undefined;
});
