import { hostLabel, zoneFromSpf } from '../../../src/console/web/host-labels';

// The console labels the return path's records itself (the API sends no `host` for them),
// relative to the zone it reads from the domain's SPF record.
describe("the console's host labels", () => {
  it.each([
    ['example.com', { name: 'example.com', host: '@' }, 'example.com'],
    ['mail.example.com', { name: 'mail.example.com', host: 'mail' }, 'example.com'],
    ['a.b.example.co.uk', { name: 'a.b.example.co.uk', host: 'a.b' }, 'example.co.uk'],
    ['example.com', undefined, 'example.com'],
    ['example.com', { name: 'example.com' }, 'example.com'],
    // A host that does not prefix the domain is not trusted to name the zone.
    ['mail.example.com', { name: 'mail.example.com', host: 'news' }, 'mail.example.com'],
    ['mail.example.com', { name: 'other.example.com', host: 'mail' }, 'mail.example.com'],
  ])('the zone of %s with SPF %j is %s', (domain, spf, zone) => {
    expect(zoneFromSpf(domain, spf)).toBe(zone);
  });

  it.each([
    [{ name: 'bounce.mail.example.com' }, 'example.com', 'bounce.mail'],
    [{ name: 'example.com' }, 'example.com', '@'],
    [{ name: 'bounce.example.com' }, 'example.com', 'bounce'],
    [{ name: 'bounce.xexample.com' }, 'example.com', 'bounce.xexample.com'],
    [{ name: 's1._domainkey.example.com', host: 's1._domainkey' }, 'other.test', 's1._domainkey'],
  ])('the label of %j in %s is %s', (record, zone, label) => {
    expect(hostLabel(record, zone)).toBe(label);
  });
});
