/**
 * Small PDFs written by hand for tests: N pages of text (Helvetica, ASCII), and optionally a page
 * so heavy to draw (hundreds of thousands of tiny paths) that rendering it takes seconds: a
 * conversion that "hangs". Vietnamese text needs an embedded font: the end-to-end tests print
 * their PDFs from Chromium instead.
 */
import zlib from 'node:zlib';

export function makePdf(pageTexts: string[], opts: { heavyOps?: number } = {}): Buffer {
  const objects: string[] = [];
  const add = (body: string) => {
    objects.push(body);
    return objects.length;
  };
  const catalog = add(''); // filled below
  const pagesId = add('');
  const font = add('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>');
  const kids: number[] = [];
  for (const text of pageTexts) {
    let ops = `BT /F1 48 Tf 72 700 Td (${text.replace(/[()\\]/g, '')}) Tj ET\n`;
    if (opts.heavyOps) {
      const parts: string[] = [];
      for (let i = 0; i < opts.heavyOps; i += 1)
        parts.push(`${(i * 7) % 600} ${(i * 13) % 780} 0.5 0.5 re f`);
      ops += parts.join('\n');
    }
    // A heavy page is compressed (as real PDFs are): millions of operators in a small file.
    const content = opts.heavyOps
      ? (() => {
          const data = zlib.deflateSync(Buffer.from(ops, 'latin1')).toString('latin1');
          return add(`<< /Length ${data.length} /Filter /FlateDecode >>\nstream\n${data}\nendstream`);
        })()
      : add(`<< /Length ${Buffer.byteLength(ops, 'latin1')} >>\nstream\n${ops}\nendstream`);
    kids.push(
      add(
        `<< /Type /Page /Parent ${pagesId} 0 R /MediaBox [0 0 842 595] /Resources << /Font << /F1 ${font} 0 R >> >> /Contents ${content} 0 R >>`,
      ),
    );
  }
  objects[catalog - 1] = `<< /Type /Catalog /Pages ${pagesId} 0 R >>`;
  objects[pagesId - 1] =
    `<< /Type /Pages /Kids [${kids.map((k) => `${k} 0 R`).join(' ')}] /Count ${kids.length} >>`;
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(Buffer.byteLength(out, 'latin1'));
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) out += `${String(o).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root ${catalog} 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}
