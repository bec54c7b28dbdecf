/**
 * The screen-share control of a console that may present (the chair's panel, a hall's page):
 * shown while the console holds the presentation token or is still sharing, it starts and
 * stops the share and says why a share ended (the token moved, the connection dropped).
 */
import type { ConferenceClient, ScreenStopReason } from './ConferenceClient';
import { setHidden, setText } from './dom';
import type { ConsoleStore } from './store';
import { showError, t } from './ui';

const STOPPED_TEXT: Partial<Record<ScreenStopReason, string>> = {
  'presentation-moved': 'screen.moved',
  connection: 'screen.connection',
};

export function bindScreenShare(
  client: ConferenceClient,
  store: ConsoleStore,
  holdsToken: () => boolean,
): void {
  const box = document.getElementById('share-panel') as HTMLElement;
  const button = document.getElementById('share-button') as HTMLButtonElement;
  const status = document.getElementById('share-status') as HTMLElement;
  let busy = false;
  const render = () => {
    const sharing = client.sharingScreen;
    setHidden(box, !holdsToken() && !sharing);
    setText(button, t(sharing ? 'screen.stop' : 'screen.share'));
    button.disabled = busy;
    setText(status, t(sharing ? 'screen.sharing' : 'screen.holder'));
    box.dataset.sharing = String(sharing);
  };
  button.addEventListener('click', () => {
    if (client.sharingScreen) {
      client.stopScreen();
      return;
    }
    busy = true;
    render();
    client
      .shareScreen()
      .catch((e: unknown) => {
        // Cancelling the browser's screen chooser is a choice, not an error.
        if ((e as Error).name !== 'NotAllowedError') showError(e);
      })
      .finally(() => {
        busy = false;
        render();
      });
  });
  client.on('screen', (_sharing, reason) => {
    const key = reason ? STOPPED_TEXT[reason] : undefined;
    if (key) {
      const notice = document.getElementById('notice') as HTMLElement;
      notice.textContent = t(key);
      notice.hidden = false;
    }
    render();
  });
  store.subscribe(() => render());
}
