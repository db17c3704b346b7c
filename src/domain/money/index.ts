export { allocateMinor } from './allocate';
export { convertMinor } from './convert';
export { currencyExponent, isBillableCurrency } from './currencies';
export {
  decimalLineAmountMinor,
  parseDecimal,
  type DecimalLineInput,
  type ExactDecimal,
} from './decimal-amount';
