import { loadConfig, stripeGatewayConfig } from '../../../src/config/env';
import { StripeGateway } from '../../../src/gateways/stripe-gateway';

const valid = {
  DATABASE_URL: 'postgres://ledgerline_app:x@127.0.0.1:5432/ledgerline',
  REDIS_URL: 'redis://127.0.0.1:6379/0',
  ADMIN_TOKEN: 'a'.repeat(32),
  STRIPE_SECRET_KEY: 'sk_test_51Ledgerline0123456789',
  STRIPE_WEBHOOK_SECRET: 'whsec_0123456789abcdef',
};

describe('configuration from the environment', () => {
  it('applies defaults for the local stack', () => {
    const config = loadConfig(valid);
    expect(config).toMatchObject({
      HTTP_PORT: 3000,
      HTTP_HOST: '127.0.0.1',
      TEMPORAL_ADDRESS: '127.0.0.1:7233',
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: 'ledgerline-subscriptions',
      INGEST_THREADS: 2,
    });
    expect(config.STRIPE_API_BASE).toBeUndefined();
  });

  it('takes the number of ingest threads, 0 for none, and refuses a count that is not one', () => {
    expect(loadConfig({ ...valid, INGEST_THREADS: '0' }).INGEST_THREADS).toBe(0);
    expect(() => loadConfig({ ...valid, INGEST_THREADS: 'two' })).toThrow(/INGEST_THREADS/);
    expect(() => loadConfig({ ...valid, INGEST_THREADS: '-1' })).toThrow(/INGEST_THREADS/);
  });

  it('refuses to start with every problem listed by variable name', () => {
    const attempt = () =>
      loadConfig({ ...valid, DATABASE_URL: 'mysql://x', ADMIN_TOKEN: 'short', HTTP_PORT: '70000' });
    expect(attempt).toThrow(/DATABASE_URL: must be a postgres:\/\/ connection URL/);
    expect(attempt).toThrow(/HTTP_PORT: Too big/);
    expect(attempt).toThrow(/ADMIN_TOKEN: must be at least 32 characters/);
  });

  it('requires the database, Redis, the admin token and the Stripe keys', () => {
    expect(() => loadConfig({})).toThrow(
      /DATABASE_URL[\s\S]*REDIS_URL[\s\S]*ADMIN_TOKEN[\s\S]*STRIPE_SECRET_KEY: is required[\s\S]*STRIPE_WEBHOOK_SECRET: is required/,
    );
  });
});

describe('Stripe configuration', () => {
  it.each([
    [
      'a publishable key',
      { STRIPE_SECRET_KEY: 'pk_test_abc' },
      /STRIPE_SECRET_KEY: must be a Stripe secret key/,
    ],
    [
      'a key with spaces',
      { STRIPE_SECRET_KEY: 'sk_test_abc ' },
      /STRIPE_SECRET_KEY: must be a Stripe secret key/,
    ],
    ['a webhook secret without whsec_', { STRIPE_WEBHOOK_SECRET: 'abc' }, /STRIPE_WEBHOOK_SECRET: must be/],
    ['an API base that is not a URL', { STRIPE_API_BASE: '127.0.0.1:12111' }, /STRIPE_API_BASE: must be/],
    [
      'an API base with a path',
      { STRIPE_API_BASE: 'http://127.0.0.1:12111/v1' },
      /STRIPE_API_BASE: must be scheme, host and port only/,
    ],
    [
      'an API base of another scheme',
      { STRIPE_API_BASE: 'ftp://stripe.example' },
      /STRIPE_API_BASE: must be an http/,
    ],
    [
      'plain http in production',
      { NODE_ENV: 'production', STRIPE_API_BASE: 'http://stripe-mock:12111' },
      /STRIPE_API_BASE: must be https in production/,
    ],
  ])('refuses %s', (_label, overrides, message) => {
    expect(() => loadConfig({ ...valid, ...overrides })).toThrow(message);
  });

  it('accepts restricted and live keys', () => {
    expect(loadConfig({ ...valid, STRIPE_SECRET_KEY: 'rk_live_abc123' }).STRIPE_SECRET_KEY).toBe(
      'rk_live_abc123',
    );
  });

  it('parses STRIPE_API_BASE into what the SDK takes (stripe-mock locally)', () => {
    const config = loadConfig({ ...valid, STRIPE_API_BASE: 'http://127.0.0.1:12111' });
    expect(stripeGatewayConfig(config)).toEqual({
      apiKey: valid.STRIPE_SECRET_KEY,
      webhookSecret: valid.STRIPE_WEBHOOK_SECRET,
      protocol: 'http',
      host: '127.0.0.1',
      port: 12111,
    });
    expect(
      stripeGatewayConfig(loadConfig({ ...valid, STRIPE_API_BASE: 'https://stripe.internal/' })),
    ).toMatchObject({ protocol: 'https', host: 'stripe.internal', port: 443 });
  });

  it('treats an empty STRIPE_API_BASE as unset (api.stripe.com)', () => {
    const config = loadConfig({ ...valid, STRIPE_API_BASE: '' });
    expect(stripeGatewayConfig(config)).toEqual({
      apiKey: valid.STRIPE_SECRET_KEY,
      webhookSecret: valid.STRIPE_WEBHOOK_SECRET,
    });
  });

  it('builds a StripeGateway from a valid configuration', () => {
    const gateway = new StripeGateway(stripeGatewayConfig(loadConfig(valid)));
    expect(gateway.provider).toBe('stripe');
  });
});
