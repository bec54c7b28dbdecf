import { shouldReceive } from '../../server/src/core/programme';

const chair = { siteCode: 'trung-uong', role: 'chair' as const };
const a = { siteCode: 'ha-noi', role: 'site' as const };
const b = { siteCode: 'hue', role: 'site' as const };

describe('programme policy', () => {
  it("sites receive the chair's camera and microphone", () => {
    expect(shouldReceive(a, chair, 'camera')).toBe(true);
    expect(shouldReceive(a, chair, 'microphone')).toBe(true);
  });

  it("the chair receives every site's camera, and no site microphone without the floor", () => {
    expect(shouldReceive(chair, a, 'camera')).toBe(true);
    expect(shouldReceive(chair, a, 'microphone')).toBe(false);
  });

  it('sites do not receive each other, and nobody receives themself', () => {
    expect(shouldReceive(a, b, 'camera')).toBe(false);
    expect(shouldReceive(a, b, 'microphone')).toBe(false);
    expect(shouldReceive(a, a, 'camera')).toBe(false);
    expect(shouldReceive(chair, chair, 'camera')).toBe(false);
  });
});
