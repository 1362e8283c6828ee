import { Command, IPv4Address, IPv4ProxyAddress, IPv6Address, IPv6ProxyAddress, TransportProtocol, UnspecProxyAddress, V2ProxyProtocol } from 'proxy-protocol-js';
import { parseProxyHeader, ProxyHeaderError, proxyHeaderLength, TrustedProxies } from '../../../src/relay/proxy-protocol';

const v2 = (command: Command, address: IPv4ProxyAddress | IPv6ProxyAddress | UnspecProxyAddress) =>
  Buffer.from(new V2ProxyProtocol(command, TransportProtocol.STREAM, address).build());
const v4 = (src: number[]) => new IPv4ProxyAddress(IPv4Address.createFrom(src), 40000, IPv4Address.createFrom([192, 0, 2, 1]), 587);

describe('proxyHeaderLength', () => {
  it('waits for a whole v1 line, then gives its length', () => {
    const line = 'PROXY TCP4 198.51.100.7 192.0.2.1 40000 587\r\n';
    expect(proxyHeaderLength(Buffer.from('PRO'))).toBe(0);
    expect(proxyHeaderLength(Buffer.from(line.slice(0, 20)))).toBe(0);
    expect(proxyHeaderLength(Buffer.from(`${line}EHLO x\r\n`))).toBe(line.length);
  });

  it('waits for a whole v2 header (16 bytes and its address block)', () => {
    const header = v2(Command.PROXY, v4([198, 51, 100, 7]));
    expect(proxyHeaderLength(header.subarray(0, 10))).toBe(0);
    expect(proxyHeaderLength(header.subarray(0, 20))).toBe(0);
    expect(proxyHeaderLength(Buffer.concat([header, Buffer.from('EHLO')]))).toBe(header.length);
  });

  it.each([
    ['an SMTP command', 'EHLO client.example\r\n'],
    ['an over-long v1 line', `PROXY TCP4 ${'1'.repeat(120)}`],
    ['a v1 line ended by a bare LF', 'PROXY TCP4 198.51.100.7 192.0.2.1 1 2\n'],
  ])('refuses %s', (_what, input) => {
    expect(() => proxyHeaderLength(Buffer.from(input))).toThrow(ProxyHeaderError);
  });
});

describe('parseProxyHeader', () => {
  it.each([
    ['v1 TCP4', Buffer.from('PROXY TCP4 198.51.100.7 192.0.2.1 40000 587\r\n'), { address: '198.51.100.7', port: 40000 }],
    ['v1 TCP6', Buffer.from('PROXY TCP6 2001:db8::7 2001:db8::1 40000 587\r\n'), { address: '2001:db8::7', port: 40000 }],
    ['v1 UNKNOWN', Buffer.from('PROXY UNKNOWN\r\n'), { address: null, port: null }],
    ['v2 PROXY over IPv4', v2(Command.PROXY, v4([198, 51, 100, 7])), { address: '198.51.100.7', port: 40000 }],
    [
      'v2 PROXY over IPv6',
      v2(
        Command.PROXY,
        new IPv6ProxyAddress(IPv6Address.createFrom([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7]), 40001, IPv6Address.createWithEmptyAddress(), 587),
      ),
      { address: '2001:db8::7', port: 40001 },
    ],
    ['v2 LOCAL (a balancer health check)', v2(Command.LOCAL, new UnspecProxyAddress()), { address: null, port: null }],
  ])('%s', (_what, header, expected) => {
    expect(parseProxyHeader(header)).toEqual(expected);
  });

  it('refuses a v1 source that is not an IP address (it would reach logs and lockout keys)', () => {
    expect(() => parseProxyHeader(Buffer.from('PROXY TCP4 evil\rhost 192.0.2.1 1 2\r\n'))).toThrow(ProxyHeaderError);
    expect(() => parseProxyHeader(Buffer.from('PROXY TCP4 not-an-ip 192.0.2.1 1 2\r\n'))).toThrow(ProxyHeaderError);
  });
});

describe('TrustedProxies', () => {
  const trusted = new TrustedProxies(['10.0.0.0/8', '2001:db8:1::/48', '192.0.2.9']);
  it.each([
    ['10.1.2.3', true],
    ['::ffff:10.1.2.3', true],
    ['11.0.0.1', false],
    ['2001:db8:1:2::5', true],
    ['2001:db8:2::5', false],
    ['192.0.2.9', true],
    ['192.0.2.10', false],
    ['garbage', false],
  ])('%s → %s', (ip, expected) => {
    expect(trusted.contains(ip)).toBe(expected);
  });

  it('trusts nobody when empty', () => {
    expect(new TrustedProxies([]).contains('127.0.0.1')).toBe(false);
    expect(new TrustedProxies([]).any).toBe(false);
  });
});
