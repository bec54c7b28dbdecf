/** Landing page: tells people to open their site's join link. */
import { applyStrings } from './lib/ui';

applyStrings();
