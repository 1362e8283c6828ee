import { mxMatchesPolicy } from '../../../src/messages/mta-sts-policies';
import { outcomeOf } from '../../../src/messages/mx-transaction';
import { formatReply, parseReply } from '../../../src/messages/smtp-reply';

describe('parseReply (RFC 5321 §4.2, RFC 3463)', () => {
  it.each([
    ['250 2.0.0 Ok: queued as 4F2B', { code: 250, enhanced: '2.0.0', message: 'Ok: queued as 4F2B' }],
    ['550 5.1.1 <bob@example.com>: Recipient address rejected', { code: 550, enhanced: '5.1.1', message: '<bob@example.com>: Recipient address rejected' }],
    ['451 4.7.1 Greylisted', { code: 451, enhanced: '4.7.1', message: 'Greylisted' }],
    // Without an enhanced code.
    ['250 OK', { code: 250, enhanced: null, message: 'OK' }],
    ['421 mx.example.com closing connection', { code: 421, enhanced: null, message: 'mx.example.com closing connection' }],
    // The class must match the reply code's (RFC 3463 §2).
    ['550 2.0.0 odd', { code: 550, enhanced: null, message: '2.0.0 odd' }],
    // Three-digit subjects and details; leading zeros dropped.
    ['554 5.7.001 Blocked', { code: 554, enhanced: '5.7.1', message: 'Blocked' }],
    ['552 5.3.4 Message too big', { code: 552, enhanced: '5.3.4', message: 'Message too big' }],
    // Multi-line: every line's text, the repeated enhanced code dropped.
    [
      '550-5.7.1 The user or domain that you are\n550-5.7.1 sending to (or from) has a policy that\n550 5.7.1 prohibited the mail.',
      { code: 550, enhanced: '5.7.1', message: 'The user or domain that you are sending to (or from) has a policy that prohibited the mail.' },
    ],
    ['250', { code: 250, enhanced: null, message: '' }],
  ])('%j', (raw, expected) => {
    expect(parseReply(raw)).toEqual(expected);
  });

  it.each([[''], [null], [undefined], ['Connection closed'], ['25 short']])('%j is not a reply', (raw) => {
    expect(parseReply(raw)).toBeNull();
  });

  it('formats a reply back into one line', () => {
    expect(formatReply({ code: 550, enhanced: '5.1.1', message: 'No such user' })).toBe('550 5.1.1 No such user');
    expect(formatReply({ code: 250, enhanced: null, message: 'OK' })).toBe('250 OK');
  });
});

describe('outcomeOf', () => {
  it.each([
    [250, 'delivered'],
    [251, 'delivered'],
    [421, 'deferred'],
    [450, 'deferred'],
    [451, 'deferred'],
    [452, 'deferred'],
    [550, 'bounced'],
    [552, 'bounced'],
    [554, 'bounced'],
    // Bad sequence of commands: a session problem, not the recipient's.
    [503, 'deferred'],
  ])('%i → %s', (code, outcome) => {
    expect(outcomeOf(code)).toBe(outcome);
  });
});

describe('mxMatchesPolicy (RFC 8461 §4.1)', () => {
  it.each([
    ['mail.example.com', ['mail.example.com'], true],
    ['MAIL.Example.COM.', ['mail.example.com'], true],
    ['mx1.example.com', ['*.example.com'], true],
    // A wildcard stands for exactly one leftmost label.
    ['example.com', ['*.example.com'], false],
    ['a.b.example.com', ['*.example.com'], false],
    ['mx1.otherexample.com', ['*.example.com'], false],
    ['mx.example.net', ['mx.example.com', '*.example.org'], false],
    ['mx.example.net', ['mx.example.com', 'mx.example.net'], true],
    ['mx.example.com', [], false],
  ])('%s against %j → %s', (host, patterns, expected) => {
    expect(mxMatchesPolicy(host, patterns)).toBe(expected);
  });
});
