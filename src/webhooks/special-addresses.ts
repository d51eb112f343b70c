// Which IP addresses are not public, for the webhook SSRF check: every block of the IANA IPv4 and
// IPv6 special-purpose registries that is not globally reachable, multicast, and all IPv6 outside
// global unicast (2000::/3). IPv6 forms that carry an IPv4 address (IPv4-mapped, NAT64, 6to4) are
// judged by the IPv4 address they lead to. Anything that does not parse counts as not public.
import { isIP } from 'node:net';

type Block = { net: bigint; bits: number; label: string };
const inBlock = (ip: bigint, b: Block, width: number) => ip >> BigInt(width - b.bits) === b.net >> BigInt(width - b.bits);

const V4: Block[] = ([
  ['0.0.0.0', 8, '"this network"'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'shared address space (CGNAT)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  // Also covers the two anycast /32s IANA marks reachable (192.0.0.9, .10): neither is a webhook receiver.
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'documentation (TEST-NET-1)'],
  ['192.88.99.0', 24, 'deprecated 6to4 relay anycast'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation (TEST-NET-2)'],
  ['203.0.113.0', 24, 'documentation (TEST-NET-3)'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved (and broadcast)'],
] as const).map(([net, size, label]) => ({ net: parseV4(net)!, bits: size, label: `${label}, ${net}/${size}` }));

// Named IPv6 blocks that are not public. Outside 2000::/3 everything is refused anyway (naming
// those blocks only makes the message clearer); inside it, these are the exceptions.
const V6: Block[] = ([
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['::', 96, 'deprecated IPv4-compatible'],
  ['::ffff:0:0:0', 96, 'IPv4-translated (SIIT)'],
  ['100::', 64, 'discard-only'],
  ['fc00::', 7, 'unique local'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'deprecated site-local'],
  ['ff00::', 8, 'multicast'],
  // Teredo (2001::/32), benchmarking, ORCHID and the rest of the IETF block: the whole /23 is
  // refused, also its few anycast blocks IANA marks reachable (none is a webhook receiver).
  ['2001::', 23, 'IETF protocol assignments (incl. Teredo 2001::/32)'],
  ['2001:db8::', 32, 'documentation'],
  ['3fff::', 20, 'documentation'],
] as const).map(([net, size, label]) => ({ net: parseV6(net)!, bits: size, label: `${label}, ${net}/${size}` }));
const GLOBAL_UNICAST = { net: parseV6('2000::')!, bits: 3, label: '' };
const MAPPED = { net: parseV6('::ffff:0:0')!, bits: 96, label: '' };
const NAT64 = { net: parseV6('64:ff9b::')!, bits: 96, label: '' };
const NAT64_LOCAL = { net: parseV6('64:ff9b:1::')!, bits: 48, label: '' };
const SIX_TO_FOUR = { net: parseV6('2002::')!, bits: 16, label: '' };

function parseV4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  return parts.reduce((acc, p) => (acc << 8n) | BigInt(p), 0n);
}

function parseV6(text: string): bigint | undefined {
  let s = text.replace(/%.*$/, ''); // a zone (fe80::1%eth0) does not change the class
  const tail: string[] = [];
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted) {
    const v4 = parseV4(dotted[2]!);
    if (v4 === undefined) return undefined;
    s = dotted[1]!.endsWith('::') ? dotted[1]! : dotted[1]!.slice(0, -1);
    tail.push((v4 >> 16n).toString(16), (v4 & 0xffffn).toString(16));
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const words = (h: string) => (h === '' ? [] : h.split(':'));
  const head = words(halves[0]!);
  const rest = [...(halves.length === 2 ? words(halves[1]!) : []), ...tail];
  const fill = 8 - head.length - rest.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? fill : 0).fill('0'), ...rest];
  if (all.some((w) => !/^[0-9a-f]{1,4}$/i.test(w))) return undefined;
  return all.reduce((acc, w) => (acc << 16n) | BigInt(`0x${w}`), 0n);
}

/** Bits `from`..`to` (0 = the most significant) of a 128-bit address. */
const bitRange = (ip: bigint, from: number, to: number) => (ip >> BigInt(127 - to)) & ((1n << BigInt(to - from + 1)) - 1n);

/**
 * Where, for each prefix length a local-use NAT64 translator may use inside 64:ff9b:1::/48
 * (RFC 6052 section 2.2: bits 64-71 are skipped), the IPv4 address sits. The translator's length
 * is not known here, so every reading must be public.
 */
const NAT64_LOCAL_READINGS = [
  (ip: bigint) => (bitRange(ip, 48, 63) << 16n) | bitRange(ip, 72, 87),
  (ip: bigint) => (bitRange(ip, 56, 63) << 24n) | bitRange(ip, 72, 95),
  (ip: bigint) => bitRange(ip, 72, 103),
  (ip: bigint) => bitRange(ip, 96, 127),
];

const v4Text = (v4: bigint) => [24n, 16n, 8n, 0n].map((s) => String((v4 >> s) & 0xffn)).join('.');

function v4Class(v4: bigint): string | undefined {
  return V4.find((b) => inBlock(v4, b, 32))?.label;
}

function embedded(v4: bigint, how: string): string | undefined {
  const label = v4Class(v4);
  return label === undefined ? undefined : `${how} ${v4Text(v4)}: ${label}`;
}

function v6Class(ip: bigint): string | undefined {
  if (inBlock(ip, MAPPED, 128)) return embedded(bitRange(ip, 96, 127), 'IPv4-mapped');
  if (inBlock(ip, NAT64, 128)) return embedded(bitRange(ip, 96, 127), 'NAT64 (64:ff9b::/96) for');
  if (inBlock(ip, NAT64_LOCAL, 128)) {
    for (const read of NAT64_LOCAL_READINGS) {
      const found = embedded(read(ip), 'local-use NAT64 (64:ff9b:1::/48) may lead to');
      if (found) return found;
    }
    return undefined;
  }
  if (inBlock(ip, SIX_TO_FOUR, 128)) return embedded(bitRange(ip, 16, 47), '6to4 (2002::/16) for');
  const named = V6.find((b) => inBlock(ip, b, 128));
  if (named) return named.label;
  return inBlock(ip, GLOBAL_UNICAST, 128) ? undefined : 'outside global unicast 2000::/3';
}

/** Why an address is not public (the special range it is in), or undefined for a public one. */
export function specialAddressClass(ip: string): string | undefined {
  const family = isIP(ip.replace(/%.*$/, ''));
  const value = family === 4 ? parseV4(ip) : family === 6 ? parseV6(ip) : undefined;
  if (value === undefined) return 'not an IP address';
  return family === 4 ? v4Class(value) : v6Class(value);
}

export const isForbiddenAddress = (ip: string): boolean => specialAddressClass(ip) !== undefined;
