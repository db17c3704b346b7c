/**
 * Postgres `numeric::text` keeps the trailing zeros of its scale ('0.923450000000', '12.500'); the
 * API and the domain use the shortest exact form ('0.92345', '12.5', never '-0').
 */
export function trimDecimal(value: string): string {
  if (!value.includes('.')) return value;
  const trimmed = value.replace(/0+$/, '').replace(/\.$/, '');
  return trimmed === '-0' ? '0' : trimmed;
}
