export { allocateMinor } from './allocate';
export { currencyExponent, isBillableCurrency } from './currencies';
export {
  decimalLineAmountMinor,
  parseDecimal,
  type DecimalLineInput,
  type ExactDecimal,
} from './decimal-amount';
