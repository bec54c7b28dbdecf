/** Timeline marks (performance.mark, first occurrence only) so join time can be measured and explained. */
export function mark(name: string): void {
  const full = `hoinghi:${name}`;
  if (performance.getEntriesByName(full).length === 0) performance.mark(full);
}
