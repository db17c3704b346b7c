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

/**
 * A list of distinct strings written once into a document and referred to by index (the customers and
 * names of a segment, the meters and customers of a delta): `indexOf` gives a string's index, adding
 * it the first time; `json` is the list as a JSON array.
 */
export class JsonStringList {
  private readonly index = new Map<string, number>();
  private body = '';

  indexOf(text: string): number {
    let i = this.index.get(text);
    if (i === undefined) {
      i = this.index.size;
      this.index.set(text, i);
      this.body += (i === 0 ? '' : ',') + jsonString(text);
    }
    return i;
  }

  json(): string {
    return `[${this.body}]`;
  }
}
