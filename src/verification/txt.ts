/** TXT record assembly shared by the SPF, DKIM and DMARC evaluators. */

/**
 * Joins a TXT record's character-strings into its value. Nothing goes between
 * them: a DNS server may split a long value anywhere, even inside a tag or a
 * base64 key (RFC 7208 §3.3, RFC 6376 §3.6.2.2).
 */
export function assembleTxt(strings: string[]): string {
  return strings.join('');
}
