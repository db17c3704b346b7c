// JSON written as text on the ingestion hot path (segments, deltas, group keys), where building
// values for JSON.stringify would cost more than the writing.

/**
 * Printable ASCII other than '"' and '\\' — ids, customer ids, event names, decimals, most property
 * values — is its own JSON string body: no escaping needed.
 */
export const PLAIN_JSON_TEXT = /^[ !#-[\]-~]*$/;

/** The JSON string literal of `text`, exactly as JSON.stringify writes it. */
export function jsonString(text: string): string {
  return PLAIN_JSON_TEXT.test(text) ? `"${text}"` : JSON.stringify(text);
}
