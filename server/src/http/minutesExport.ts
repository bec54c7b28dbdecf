/**
 * The minutes (biên bản) as CSV and JSON. The CSV opens correctly in a spreadsheet:
 * UTF-8 with a byte order mark (so Excel reads Vietnamese text), CRLF line ends, every
 * field quoted, and cells starting with = + - @ neutralised against formula injection.
 */
import type { ConferenceState, MinuteEntry, MinuteType } from '../core/model';

type Lang = 'vi' | 'en';

const LABELS: Record<MinuteType, [vi: string, en: string]> = {
  'conference.opened': [
    'Mở hội nghị (điểm danh, các điểm cầu kết nối)',
    'Conference opened (roll call, sites joining)',
  ],
  'conference.started': ['Bắt đầu phiên họp', 'Session started'],
  'conference.concluded': ['Kết thúc phiên họp', 'Session concluded'],
  'conference.closed': ['Đóng hội nghị', 'Conference closed'],
  'site.joined': ['Điểm cầu kết nối', 'Site connected'],
  'site.left': ['Điểm cầu rời hội nghị', 'Site left'],
  'site.lost': ['Điểm cầu mất kết nối (đang chờ kết nối lại)', 'Site lost (waiting for it to reconnect)'],
  'site.back': ['Điểm cầu kết nối lại', 'Site reconnected'],
  'site.released': [
    'Hết thời gian chờ kết nối lại: trả lại lượt phát biểu và quyền trình chiếu',
    'Not back in time: its floor, queue places and presentation released',
  ],
  'rollcall.marked': ['Điểm danh', 'Roll call'],
  'floor.requested': ['Đăng ký phát biểu', 'Floor requested'],
  'floor.withdrawn': ['Rút đăng ký phát biểu', 'Request withdrawn'],
  'floor.reordered': ['Đổi thứ tự phát biểu', 'Queue reordered'],
  'floor.skipped': ['Tạm bỏ qua lượt', 'Request skipped'],
  'floor.rejected': ['Từ chối đăng ký', 'Request rejected'],
  'floor.granted': ['Mời phát biểu', 'Floor granted'],
  'floor.extended': ['Thêm thời gian phát biểu', 'Floor extended'],
  'floor.warning': ['Sắp hết thời gian phát biểu', 'Time almost up'],
  'floor.expired': ['Hết thời gian phát biểu', 'Time is up'],
  'floor.ended': ['Kết thúc phát biểu', 'Floor ended'],
  'floor.kept': [
    'Chủ trì giữ quyền phát biểu cho điểm cầu mất kết nối',
    'The chair keeps the floor for the lost site',
  ],
  'presentation.changed': ['Đổi người trình chiếu', 'Presentation holder changed'],
  'deck.added': ['Tải lên tài liệu trình chiếu', 'Deck uploaded'],
  'slide.shown': ['Trình chiếu trang tài liệu', 'Deck page shown'],
  'slide.closed': ['Thôi trình chiếu tài liệu', 'Deck closed'],
  'agenda.set': ['Cập nhật chương trình nghị sự', 'Agenda set'],
  'agenda.moved': ['Chuyển mục chương trình', 'Agenda item changed'],
  'layout.changed': ['Đổi bố cục màn hình', 'Layout changed'],
  'chair.handed': ['Chuyển quyền chủ trì', 'Chair handed over'],
  'recording.started': ['Bắt đầu ghi hình chương trình', 'Programme recording started'],
  'recording.stopped': ['Dừng ghi hình chương trình', 'Programme recording stopped'],
  'recording.saved': ['Đã lưu bản ghi', 'Recording saved'],
  'recording.failed': ['Lỗi ghi hình (hội nghị vẫn tiếp tục)', 'Recording failed (the conference goes on)'],
};

const HEADERS: Record<Lang, string[]> = {
  vi: ['STT', 'Thời gian', 'Sự kiện', 'Điểm cầu', 'Người thực hiện', 'Chi tiết', 'Mã sự kiện'],
  en: ['No.', 'Time', 'Event', 'Site', 'By', 'Details', 'Event code'],
};

export interface ExportRow {
  seq: number;
  time: string;
  event: string;
  site: string;
  by: string;
  details: string;
  type: MinuteType;
}

export function minuteRows(
  state: ConferenceState,
  minutes: MinuteEntry[],
  timezone: string,
  lang: Lang,
): ExportRow[] {
  const fmt = new Intl.DateTimeFormat('sv-SE', {
    timeZone: timezone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
  });
  const siteName = (code: string | null) =>
    code ? (state.sites.find((s) => s.code === code)?.name ?? code) : '';
  return minutes.map((m) => ({
    seq: m.seq,
    time: fmt.format(new Date(m.at)),
    event: LABELS[m.type][lang === 'vi' ? 0 : 1],
    site: siteName(m.siteCode),
    by: m.actor ?? (lang === 'vi' ? 'hệ thống' : 'system'),
    details: Object.entries(m.data)
      .map(([k, v]) => `${k}=${v === null ? '' : String(v)}`)
      .join('; '),
    type: m.type,
  }));
}

function cell(v: string | number): string {
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return `"${s.replace(/"/g, '""')}"`;
}

export function minutesCsv(rows: ExportRow[], lang: Lang): string {
  const lines = [
    HEADERS[lang],
    ...rows.map((r) => [r.seq, r.time, r.event, r.site, r.by, r.details, r.type]),
  ];
  return `\uFEFF${lines.map((l) => l.map(cell).join(',')).join('\r\n')}\r\n`;
}
