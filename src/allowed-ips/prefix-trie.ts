/**
 * A path-compressed binary trie of network prefixes (a PATRICIA trie), with a count per
 * prefix so that several owners may hold the same network and removing one owner's
 * copy leaves the others. Nodes live in one typed array: 32 bytes per IPv6 node, 20 per
 * IPv4 node, at most two nodes per distinct prefix, and no garbage per lookup.
 *
 * `contains` walks one root-to-leaf path: at most one node per distinct prefix length
 * on the way, about log2(n) for random prefixes. `add` and `remove` are as cheap.
 */
export class PrefixTrie {
  private readonly bits: number;
  /** Words per node: length, count, child 0, child 1, then the key. */
  private readonly stride: number;
  private nodes = new Uint32Array(0);
  private capacity = 0;
  private used = 1; // node 0 is the root: the empty prefix
  private freeHead = 0; // a chain through child 0 of released nodes; 0 ends it
  private prefixes = 0;

  /** @param width words per key: 1 for IPv4, 4 for IPv6. */
  constructor(private readonly width: number) {
    this.bits = width * 32;
    // One array, one node after the other, so that a step down the trie touches one cache line.
    this.stride = 4 + width;
    this.grow(1024);
  }

  /** Distinct prefixes held (each counted once, however many owners hold it). */
  get size(): number {
    return this.prefixes;
  }

  /** Bytes held by the node array. */
  get bytes(): number {
    return this.nodes.byteLength;
  }

  /** Adds one owner's copy of `words`/`prefix` (words masked to the prefix, read from `offset`). */
  add(words: ArrayLike<number>, offset: number, prefix: number): void {
    const t = this.nodes;
    let n = 0;
    for (;;) {
      const len = t[n * this.stride + LEN];
      if (len === prefix) {
        if (t[n * this.stride + COUNT]++ === 0) this.prefixes++;
        return;
      }
      const side = bitOf(words, offset, len);
      const c = t[n * this.stride + CHILD + side];
      if (c === 0) {
        this.link(n, side, this.newNode(words, offset, prefix, 1));
        return;
      }
      const cLen = this.nodes[c * this.stride + LEN];
      const common = this.commonBits(words, offset, c, Math.min(prefix, cLen));
      if (common === cLen) {
        n = c;
        continue;
      }
      if (common === prefix) {
        // The new prefix sits between n and c.
        const mid = this.newNode(words, offset, prefix, 1);
        this.link(mid, this.nodeBit(c, prefix), c);
        this.link(n, side, mid);
        return;
      }
      // The paths part at `common`: a branch node without a count of its own.
      const fork = this.newNode(words, offset, common, 0);
      this.link(fork, bitOf(words, offset, common), this.newNode(words, offset, prefix, 1));
      this.link(fork, this.nodeBit(c, common), c);
      this.link(n, side, fork);
      return;
    }
  }

  /** Removes one owner's copy; false when the prefix was not held. */
  remove(words: ArrayLike<number>, offset: number, prefix: number): boolean {
    const t = this.nodes;
    const S = this.stride;
    let grand = -1;
    let parent = -1;
    let n = 0;
    while (t[n * S + LEN] !== prefix) {
      if (t[n * S + LEN] > prefix) return false;
      const c = t[n * S + CHILD + bitOf(words, offset, t[n * S + LEN])];
      if (c === 0 || t[c * S + LEN] > prefix || this.commonBits(words, offset, c, t[c * S + LEN]) !== t[c * S + LEN]) return false;
      grand = parent;
      parent = n;
      n = c;
    }
    if (t[n * S + COUNT] === 0) return false;
    if (--t[n * S + COUNT] > 0) return true;
    this.prefixes--;
    if (n === 0 || (t[n * S + CHILD] !== 0 && t[n * S + CHILD + 1] !== 0)) return true; // still a branch
    this.replaceChild(parent, n, t[n * S + CHILD] || t[n * S + CHILD + 1]);
    this.release(n);
    // A count-less branch left with one child is no longer needed either.
    if (parent !== 0 && t[parent * S + COUNT] === 0 && (t[parent * S + CHILD] === 0 || t[parent * S + CHILD + 1] === 0)) {
      this.replaceChild(grand, parent, t[parent * S + CHILD] || t[parent * S + CHILD + 1]);
      this.release(parent);
    }
    return true;
  }

  /** True when some held prefix contains the address `words` (read from `offset`). */
  contains(words: ArrayLike<number>, offset = 0): boolean {
    const t = this.nodes;
    const S = this.stride;
    let n = 0;
    for (;;) {
      if (t[n * S + COUNT] > 0) return true;
      const len = t[n * S + LEN];
      if (len === this.bits) return false;
      const c = t[n * S + CHILD + bitOf(words, offset, len)];
      if (c === 0 || this.commonBits(words, offset, c, t[c * S + LEN]) !== t[c * S + LEN]) return false;
      n = c;
    }
  }

  private link(n: number, side: number, c: number): void {
    this.nodes[n * this.stride + CHILD + side] = c;
  }

  private replaceChild(parent: number, old: number, next: number): void {
    const at = parent * this.stride + CHILD;
    if (this.nodes[at] === old) this.nodes[at] = next;
    else this.nodes[at + 1] = next;
  }

  private nodeBit(n: number, i: number): number {
    return bitOf(this.nodes, n * this.stride + KEY, i);
  }

  /** Leading bits that `words` and node n's key share, at most `limit`. */
  private commonBits(words: ArrayLike<number>, offset: number, n: number, limit: number): number {
    const base = n * this.stride + KEY;
    for (let w = 0; w * 32 < limit; w++) {
      const diff = (words[offset + w] ^ this.nodes[base + w]) >>> 0;
      if (diff !== 0) return Math.min(limit, w * 32 + Math.clz32(diff));
    }
    return limit;
  }

  private newNode(words: ArrayLike<number>, offset: number, prefix: number, count: number): number {
    let n = this.freeHead;
    if (n !== 0) this.freeHead = this.nodes[n * this.stride + CHILD];
    else {
      if (this.used === this.capacity) this.grow(this.capacity * 2);
      n = this.used++;
    }
    const at = n * this.stride;
    const t = this.nodes;
    t[at + LEN] = prefix;
    t[at + COUNT] = count;
    t[at + CHILD] = 0;
    t[at + CHILD + 1] = 0;
    for (let w = 0; w < this.width; w++) {
      const keep = prefix - w * 32;
      t[at + KEY + w] = keep <= 0 ? 0 : keep >= 32 ? words[offset + w] : (words[offset + w] & (~0 << (32 - keep))) >>> 0;
    }
    if (count > 0) this.prefixes++;
    return n;
  }

  private release(n: number): void {
    const at = n * this.stride;
    this.nodes[at + COUNT] = 0;
    this.nodes[at + CHILD + 1] = 0;
    this.nodes[at + CHILD] = this.freeHead;
    this.freeHead = n;
  }

  private grow(capacity: number): void {
    const next = new Uint32Array(capacity * this.stride);
    next.set(this.nodes);
    this.nodes = next;
    this.capacity = capacity;
  }
}

/** Where a node's fields sit within its stride. */
const LEN = 0;
const COUNT = 1;
const CHILD = 2;
const KEY = 4;

/** Bit i (0 = most significant) of the key starting at `offset`. */
function bitOf(words: ArrayLike<number>, offset: number, i: number): number {
  return (words[offset + (i >>> 5)] >>> (31 - (i & 31))) & 1;
}
