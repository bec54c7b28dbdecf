/**
 * Who receives whose media. Pure: the media layer asks, and obeys.
 *
 * Today (foundation): every site receives the programme, which is the chair's camera and
 * microphone; the chair receives every site's camera. Site microphones reach nobody until
 * the speaker queue grants the floor (the conference core decides that; see issue 3).
 */
import type { MediaSource, Role } from '../../../protocol/events';

export interface Party {
  siteCode: string;
  role: Role;
}

export function shouldReceive(receiver: Party, sender: Party, source: MediaSource): boolean {
  if (receiver.siteCode === sender.siteCode) return false;
  if (sender.role === 'chair') return receiver.role === 'site';
  if (receiver.role === 'chair') return source === 'camera';
  return false;
}
