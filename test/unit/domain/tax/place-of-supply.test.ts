import { decideTreatment, type SaleContext } from '../../../../src/domain/tax/place-of-supply';
import type { BuyerTaxProfile, SellerTaxProfile, TaxCategory } from '../../../../src/domain/tax/types';
import { IDS, business, consumer, seller } from './fixtures';

// The place-of-supply matrix: for each kind of sale, which treatment applies and under which
// jurisdiction's tax (the amounts are the arithmetic's business, tested elsewhere).

function decide(from: SellerTaxProfile, to: BuyerTaxProfile, category: TaxCategory = 'saas') {
  const sale: SaleContext = {
    taxDate: '2026-03-01',
    seller: from,
    buyerAddress: to.address,
    buyerBusinessId: to.taxId === undefined ? null : { type: to.taxId.type, value: to.taxId.value },
  };
  const decision = decideTreatment(sale, category);
  return decision.treatment === 'taxed'
    ? `taxed ${decision.levies.map((levy) => `${levy.jurisdiction} ${levy.taxName} ${levy.ratePercent}`).join(' + ')}`
    : `${decision.treatment} ${decision.reportedUnder.map((under) => `${under.jurisdiction} ${under.taxName}`).join(' + ')}`;
}

const DE = seller({ country: 'DE' });
const DE_OSS = seller({ country: 'DE', euOss: true });
const US = seller({ country: 'US' });
const US_GLOBAL = seller({ country: 'US', euOss: true, countries: ['GB', 'CH', 'NO', 'AU', 'JP'] });
const GB = seller({ country: 'GB' });

describe('place of supply', () => {
  it.each<[string, SellerTaxProfile, BuyerTaxProfile, TaxCategory, string]>([
    // EU
    ['domestic B2C', DE, consumer('DE'), 'saas', 'taxed DE VAT 19'],
    ['domestic e-book at the reduced rate', DE, consumer('DE'), 'ebooks', 'taxed DE VAT 7'],
    ['intra-EU B2C digital with OSS: customer’s rate', DE_OSS, consumer('FR'), 'saas', 'taxed FR VAT 20'],
    ['intra-EU B2C digital without OSS: home rate', DE, consumer('FR'), 'saas', 'taxed DE VAT 19'],
    [
      'intra-EU B2C consulting: supplier’s rate even with OSS',
      DE_OSS,
      consumer('FR'),
      'general_services',
      'taxed DE VAT 19',
    ],
    ['intra-EU B2B: reverse charge', DE, business('FR', IDS.fr), 'general_services', 'reverse_charge FR VAT'],
    ['EU to US consumer', DE_OSS, consumer('US', 'NY'), 'saas', 'no_registration US-NY Sales tax'],
    ['EU to Brazil', DE_OSS, consumer('BR'), 'saas', 'outside_scope DE VAT'],
    ['non-EU B2C digital, not registered', US, consumer('IT'), 'saas', 'no_registration IT VAT'],
    ['non-EU B2C digital, non-Union OSS', US_GLOBAL, consumer('IT'), 'saas', 'taxed IT VAT 22'],
    [
      'non-EU B2C consulting: outside the EU’s scope',
      US_GLOBAL,
      consumer('IT'),
      'general_services',
      'outside_scope US Sales tax',
    ],
    ['non-EU B2B: reverse charge', US, business('FR', IDS.fr), 'saas', 'reverse_charge FR VAT'],
    // GB / CH / NO
    ['UK domestic B2B', GB, business('GB', IDS.gb), 'saas', 'taxed GB VAT 20'],
    ['UK e-book zero-rated', GB, consumer('GB'), 'ebooks', 'taxed GB VAT 0'],
    ['UK seller exporting to the EU, not registered', GB, consumer('DE'), 'saas', 'no_registration DE VAT'],
    [
      'UK seller’s consulting to a German consumer',
      GB,
      consumer('DE'),
      'general_services',
      'outside_scope GB VAT',
    ],
    [
      'registered in the UK, consulting to a UK consumer: outside UK scope',
      US_GLOBAL,
      consumer('GB'),
      'general_services',
      'outside_scope US Sales tax',
    ],
    [
      'registered in Switzerland: consulting too',
      US_GLOBAL,
      consumer('CH'),
      'general_services',
      'taxed CH VAT 8.1',
    ],
    ['Norwegian e-book zero-rated', US_GLOBAL, consumer('NO'), 'ebooks', 'taxed NO VAT 0'],
    // APAC
    [
      'Japan: consumers only (no business id type)',
      US_GLOBAL,
      business('JP', IDS.us),
      'saas',
      'taxed JP JCT 10',
    ],
    ['Australia not registered, consumer', US, consumer('AU'), 'saas', 'no_registration AU GST'],
    [
      'Australia not registered, business: still reverse charge',
      US,
      business('AU', IDS.au),
      'saas',
      'reverse_charge AU GST',
    ],
    // US
    ['US without any nexus and no state', US, consumer('US'), 'saas', 'no_registration US Sales tax'],
    [
      'Oregon has no sales tax even with nexus',
      seller({ country: 'US', usNexusStates: ['OR'] }),
      consumer('US', 'OR'),
      'saas',
      'not_taxable US-OR Sales tax',
    ],
    [
      'Washington taxes SaaS',
      seller({ country: 'US', usNexusStates: ['WA'] }),
      consumer('US', 'WA'),
      'saas',
      'taxed US-WA Sales tax 6.5',
    ],
    [
      'Pennsylvania taxes SaaS',
      seller({ country: 'US', usNexusStates: ['PA'] }),
      consumer('US', 'PA'),
      'saas',
      'taxed US-PA Sales tax 6',
    ],
    [
      'New York does not tax e-books',
      seller({ country: 'US', usNexusStates: ['NY'] }),
      consumer('US', 'NY'),
      'ebooks',
      'not_taxable US-NY Sales tax',
    ],
    [
      'Hawaii taxes consulting (GET)',
      seller({ country: 'US', usNexusStates: ['HI'] }),
      consumer('US', 'HI'),
      'general_services',
      'taxed US-HI Sales tax 4',
    ],
    // Canada, India
    ['Canada without registration', US, consumer('CA', 'ON'), 'saas', 'no_registration CA GST'],
    [
      'Saskatchewan PST on SaaS',
      seller({ country: 'CA' }),
      consumer('CA', 'SK'),
      'saas',
      'taxed CA GST 5 + CA-SK PST 6',
    ],
    [
      'Manitoba RST on SaaS',
      seller({ country: 'CA' }),
      consumer('CA', 'MB'),
      'saas',
      'taxed CA GST 5 + CA-MB RST 7',
    ],
    ['New Brunswick HST', seller({ country: 'CA' }), consumer('CA', 'NB'), 'saas', 'taxed CA-NB HST 15'],
    [
      'Indian seller exporting',
      seller({ country: 'IN', inGstState: 'KA' }),
      consumer('US', 'CA'),
      'saas',
      'no_registration US-CA Sales tax',
    ],
    [
      'Indian seller to Brazil',
      seller({ country: 'IN', inGstState: 'KA' }),
      consumer('BR'),
      'saas',
      'outside_scope IN IGST',
    ],
    [
      'foreign consulting to an Indian consumer is not OIDAR',
      seller({ country: 'US', countries: ['IN'] }),
      consumer('IN', 'KA'),
      'general_services',
      'outside_scope US Sales tax',
    ],
  ])('%s', (_name, from, to, category, expected) => {
    expect(decide(from, to, category)).toBe(expected);
  });
});
