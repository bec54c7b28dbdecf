const { chromium } = require('playwright-core');
const http = require('http');
(async () => {
  const srv = http.createServer((q, s) => { s.setHeader('content-type','text/html'); s.end('<title>CAPME</title><body style="background:red"><h1>hello</h1></body>'); }).listen(0);
  await new Promise(r => srv.once('listening', r));
  const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox','--headless=new','--enable-features=HeadlessTabCapture','--disable-gpu','--autoplay-policy=no-user-gesture-required','--auto-accept-this-tab-capture','--use-fake-ui-for-media-stream', '--auto-select-tab-capture-source-by-title=CAPME'] });
  const p = await b.newPage();
  await p.goto('http://127.0.0.1:' + srv.address().port + '/');
  const r = await p.evaluate(async () => {
    try {
      const ctx = new AudioContext(); const o = ctx.createOscillator(); o.connect(ctx.destination); o.start();
      const s = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: 25 }, audio: true, preferCurrentTab: true, selfBrowserSurface: 'include', systemAudio: 'include' });
      const rec = new MediaRecorder(s, { mimeType: 'video/webm;codecs=vp8,opus' });
      let bytes = 0; rec.ondataavailable = e => bytes += e.data.size; rec.start(500);
      await new Promise(r => setTimeout(r, 3000)); rec.stop(); await new Promise(r => setTimeout(r, 300));
      return { tracks: s.getTracks().map(t => t.kind + ':' + t.label + ':' + JSON.stringify(t.getSettings())), bytes };
    } catch (e) { return 'ERR ' + e; }
  });
  console.log(JSON.stringify(r, null, 1));
  await b.close(); srv.close();
})();
