/** Asking before doing something that cannot be undone, in the page's #confirm dialog. */

export function confirmThen(text: string, action: () => void): void {
  const $ = (id: string) => document.getElementById(id) as HTMLElement;
  const dialog = $('confirm') as HTMLDialogElement;
  $('confirm-text').textContent = text;
  const ok = $('confirm-ok');
  const cancel = $('confirm-cancel');
  const done = (yes: boolean) => {
    ok.onclick = null;
    cancel.onclick = null;
    dialog.onclose = null;
    if (dialog.open) dialog.close();
    if (yes) action();
  };
  ok.onclick = () => done(true);
  cancel.onclick = () => done(false);
  // Escape closes the dialog: the same as cancelling (and the next question starts clean).
  dialog.onclose = () => done(false);
  dialog.showModal();
}
