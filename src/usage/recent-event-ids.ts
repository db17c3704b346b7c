// A memory of the event ids this process has recently sent to Postgres, used only to choose how a key is
// claimed, never to decide whether an event is a duplicate (the unique key in Postgres decides).
//
// Claiming a key with a plain INSERT costs half of INSERT … ON CONFLICT DO NOTHING (which probes the
// index once before inserting and takes a speculative-insertion lock; ADR 0008 §22). A plain INSERT
// fails the whole statement on a duplicate, so only ids that cannot be duplicates should take it. An id
// this process has never sent is almost always new; an id it has sent (a client retry, a replayed
// stream) is likely a duplicate and takes the ON CONFLICT path. The memory can be wrong both ways and
// stays correct: a false "seen" takes the slower path, and a duplicate it does not know about (sent
// through another replica, before a restart, or longer ago than it remembers) makes the plain INSERT
// fail, and the batch is then stored the long way, with ON CONFLICT for every id (event-store.ts).
//
// Two generations of a Bloom filter: when the current one holds `capacity` ids it becomes the previous
// one and the one before is dropped, so memory is fixed (2 × bits / 8 bytes; 32 MiB by default) and the
// last `capacity` to 2 × `capacity` ids are remembered (1–2 minutes at 100,000 events/s, far longer
// at any usual rate; a retry later than that takes the slower path once). The filters live in a
// SharedArrayBuffer that the process's ingest threads share.

export interface RecentEventIdsOptions {
  /** Bits per generation, a power of two. Default 2^27 (16 MiB). */
  readonly bits?: number;
  /**
   * Ids per generation before it rotates. Default 6,000,000: under 0.2 % false "seen" when full at 2^27 bits
   * (each false "seen" costs the batch a delta row of its own, migration 0012).
   */
  readonly capacity?: number;
}

/**
 * The memory itself, in a SharedArrayBuffer: every ingest thread of a process (ingest-threads.ts)
 * wraps the same one, so a retry is known "seen" whichever thread receives it. Structured-cloneable.
 */
export interface RecentEventIdsMemory {
  readonly buffer: SharedArrayBuffer;
  readonly bits: number;
  readonly capacity: number;
}

/** Bits set per id, all in one 512-bit block (one cache line): one memory miss per lookup, not seven. */
const HASHES = 8;
const BLOCK_WORDS = 16;
/** The header's words: which generation is current (0 or 1), ids added to it, a rotation in progress. */
const CURRENT = 0;
const ADDED = 1;
const ROTATING = 2;
const HEADER_WORDS = 4;

export class RecentEventIds {
  /** The process-wide memory, to hand to other threads. */
  readonly memory: RecentEventIdsMemory;
  private readonly header: Int32Array;
  private readonly generations: readonly [Int32Array, Int32Array];
  private readonly blockMask: number;
  private readonly capacity: number;

  constructor(options: RecentEventIdsOptions | { readonly shared: RecentEventIdsMemory } = {}) {
    if ('shared' in options) {
      this.memory = options.shared;
    } else {
      const bits = options.bits ?? 2 ** 27;
      if (!Number.isInteger(Math.log2(bits)) || bits < 512)
        throw new RangeError('bits must be a power of two ≥ 512');
      const buffer = new SharedArrayBuffer((HEADER_WORDS + 2 * (bits >>> 5)) * 4);
      this.memory = { buffer, bits, capacity: options.capacity ?? 6_000_000 };
    }
    const { buffer, bits, capacity } = this.memory;
    const words = bits >>> 5;
    this.header = new Int32Array(buffer, 0, HEADER_WORDS);
    this.generations = [
      new Int32Array(buffer, HEADER_WORDS * 4, words),
      new Int32Array(buffer, (HEADER_WORDS + words) * 4, words),
    ];
    this.blockMask = bits / 512 - 1;
    this.capacity = capacity;
  }

  /**
   * Splits `items` (events of one tenant, by `idOf`) into those whose id this process may have sent
   * before and those it has not, keeping their order, and remembers all of the ids.
   */
  partition<T>(tenantId: string, items: readonly T[], idOf: (item: T) => string): { seen: T[]; unseen: T[] } {
    const seen: T[] = [];
    const unseen: T[] = [];
    const tenantHash = fnv1a(tenantId, 0x811c9dc5);
    const [first, second] = this.generations;
    let filter = Atomics.load(this.header, CURRENT) === 0 ? first : second;
    // The shared count of ids in the current generation is read once and added to once per call
    // (not per id: one cache line written by every thread would bounce between the cores).
    let room = this.capacity - Atomics.load(this.header, ADDED);
    let added = 0;
    for (const item of items) {
      const h1 = fnv1a(idOf(item), tenantHash);
      const block = (h1 & this.blockMask) * BLOCK_WORDS;
      // The bit positions inside the block by double hashing; the step is odd, so they are distinct.
      const h2 = mix(h1 ^ 0x5bd1e995);
      if (contains(first, block, h2) || contains(second, block, h2)) seen.push(item);
      else unseen.push(item);
      if (room <= 0) {
        Atomics.add(this.header, ADDED, added);
        added = 0;
        filter = this.rotate();
        room = this.capacity - Atomics.load(this.header, ADDED);
      }
      setBits(filter, block, h2);
      added += 1;
      room -= 1;
    }
    Atomics.add(this.header, ADDED, added);
    return { seen, unseen };
  }

  /**
   * The current generation is full: the previous one is cleared and becomes current. One thread
   * rotates; another that finds a rotation in progress keeps adding to the generation it was given,
   * which stays remembered as the previous. A lookup meanwhile may find the one being cleared partly
   * empty: that is a false "unseen", which costs a batch the long way, never a wrong count.
   */
  private rotate(): Int32Array {
    const [first, second] = this.generations;
    if (Atomics.compareExchange(this.header, ROTATING, 0, 1) === 0) {
      if (Atomics.load(this.header, ADDED) >= this.capacity) {
        const next = 1 - Atomics.load(this.header, CURRENT);
        (next === 0 ? first : second).fill(0);
        Atomics.store(this.header, CURRENT, next);
        Atomics.store(this.header, ADDED, 0);
      }
      Atomics.store(this.header, ROTATING, 0);
    }
    return Atomics.load(this.header, CURRENT) === 0 ? first : second;
  }
}

function setBits(filter: Int32Array, block: number, h2: number): void {
  let bit = h2 & 511;
  const step = ((h2 >>> 9) & 511) | 1;
  for (let i = 0; i < HASHES; i += 1) {
    // A plain read-modify-write, not Atomics.or (0.7 % of the machine in `perf` at batch 1,000): two
    // threads setting bits of the same word at the same instant may lose one bit, a false "unseen"
    // for that id, which costs its retry the long way once, never a count.
    const word = block + (bit >>> 5);
    filter[word] = (filter[word] ?? 0) | (1 << (bit & 31));
    bit = (bit + step) & 511;
  }
}

function contains(filter: Int32Array, block: number, h2: number): boolean {
  let bit = h2 & 511;
  const step = ((h2 >>> 9) & 511) | 1;
  for (let i = 0; i < HASHES; i += 1) {
    if (((filter[block + (bit >>> 5)] ?? 0) & (1 << (bit & 31))) === 0) return false;
    bit = (bit + step) & 511;
  }
  return true;
}

/** FNV-1a over UTF-16 code units, continuing from `seed`. */
function fnv1a(text: string, seed: number): number {
  let hash = seed;
  for (let i = 0; i < text.length; i += 1) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return mix(hash);
}

/** A 32-bit finaliser (murmur3 fmix32): FNV's low bits alone are poorly spread. */
function mix(value: number): number {
  let h = value;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}
