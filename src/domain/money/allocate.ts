// Splitting an amount across parts (a discount across lines, a payment across invoices, tax across
// rates) so that the parts add up to the amount exactly: no minor unit is ever created or lost.

/**
 * `totalMinor` split in proportion to `weights` (non-negative safe integers, at least one positive).
 * Largest-remainder method in exact integer arithmetic: each part is its exact share rounded toward
 * zero, and the minor units left over go one each to the parts with the largest remainders (ties to
 * the earlier part). So Σ parts = total, and every part is within one minor unit of its exact share.
 * A negative total is split as its magnitude, with the sign applied to every part.
 */
export function allocateMinor(totalMinor: number, weights: readonly number[]): number[] {
  if (!Number.isSafeInteger(totalMinor))
    throw new RangeError(`totalMinor must be a safe integer, got ${totalMinor}`);
  if (weights.length === 0) throw new RangeError('allocateMinor needs at least one weight');
  for (const [index, weight] of weights.entries()) {
    if (!Number.isSafeInteger(weight) || weight < 0) {
      throw new RangeError(`weights[${index}] must be a non-negative safe integer, got ${String(weight)}`);
    }
  }
  const weightSum = weights.reduce((sum, weight) => sum + BigInt(weight), 0n);
  if (weightSum === 0n) throw new RangeError('allocateMinor needs at least one positive weight');

  const sign = totalMinor < 0 ? -1n : 1n;
  const magnitude = BigInt(Math.abs(totalMinor));
  const shares = weights.map((weight, index) => {
    const exact = magnitude * BigInt(weight);
    return { index, floor: exact / weightSum, remainder: exact % weightSum };
  });
  let leftover = magnitude - shares.reduce((sum, share) => sum + share.floor, 0n);
  const byRemainder = [...shares].sort((a, b) =>
    a.remainder === b.remainder ? a.index - b.index : a.remainder > b.remainder ? -1 : 1,
  );
  const parts = shares.map((share) => share.floor);
  for (const share of byRemainder) {
    if (leftover === 0n) break;
    if (share.remainder === 0n) continue;
    parts[share.index] = (parts[share.index] as bigint) + 1n;
    leftover -= 1n;
  }
  // Postcondition: nothing created, nothing lost.
  const result = parts.map((part) => Number(part * sign) + 0);
  if (result.reduce((sum, part) => sum + part, 0) !== totalMinor) {
    throw new Error(`allocateMinor: parts do not add up to ${totalMinor}`);
  }
  return result;
}
